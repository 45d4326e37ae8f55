"""The 救急用サマリー (emergency summary) and its official display windows.

Windows (MHLW, adopted by FDMA for マイナ救急): 受診歴 (visits), 薬剤 (claims-based
drugs), 診療 and 透析 3 months; 電子処方箋 (e-prescriptions) 45 days; 手術
(surgery) 5 years; 健診 (check-ups) as the date only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Integer, Row, String, bindparam, cast, literal_column, null, select, union_all

from hub.contract import InsuranceInfo, MedicationItem, NamedDateItem, PatientInfo, Summary, VisitItem
from hub.models import CardLink, ClinicalItem, ConsentGrant, Insurance, Medication, Patient, Visit, db
from hub.prescription_checks import ContraindicationRule, CurrentDrug, interactions_between, taking_until

CLAIMS_MONTHS = 3
EPRESCRIPTION_DAYS = 45
SURGERY_YEARS = 5

# Ingredient fragments that mark a current medication as high-risk for the crew.
HIGH_RISK_INGREDIENTS = {
    "抗凝固薬": ("ワルファリン", "アピキサバン", "リバーロキサバン", "エドキサバン", "ダビガトラン"),
    "抗血小板薬": ("アスピリン", "クロピドグレル", "プラスグレル", "シロスタゾール", "チクロピジン"),
    "インスリン": ("インスリン",),
    "血糖降下薬": ("メトホルミン", "グリメピリド", "グリクラジド", "シタグリプチン", "ボグリボース"),
    "ステロイド": ("プレドニゾロン", "デキサメタゾン", "メチルプレドニゾロン", "ベタメタゾン", "ヒドロコルチゾン"),
}


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clamped to the month's end."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate_day)
        except ValueError:
            continue

    raise AssertionError("unreachable: every month has 28 days")


def high_risk_class(ingredient: str) -> str | None:
    for label, fragments in HIGH_RISK_INGREDIENTS.items():
        if any(fragment in ingredient for fragment in fragments):
            return label

    return None


@dataclass(frozen=True)
class SummaryGrant:
    """The grant fields a summary shows; the grant row itself is written with the audit row."""

    id: str
    expires_at: datetime
    mode: str


def find_subject(issuer: str, serial_hex: str, client_id: int, request_id: str | None) -> Row | None:
    """Return the patient linked to the certificate with their newest insurance (one query), or None when unlinked.

    The row also carries the grant that ``client_id`` created earlier for
    ``request_id`` (columns ``earlier_grant_*``, None when there is none), so a
    repeated request costs no extra query.
    """
    parameters = {"issuer": issuer, "serial_hex": serial_hex, "client_id": client_id, "request_id": request_id}
    return db.session.execute(_SUBJECT_QUERY, parameters).first()


def load_records(patient_id: int, today: date) -> list[Row]:
    """Load every record the summary can show from the three record tables in one UNION ALL query."""
    claims_from = months_before(today, CLAIMS_MONTHS)
    return list(db.session.execute(_RECORDS_QUERY, {"patient_id": patient_id, "claims_from": claims_from}))


def build_summary(
    subject: Row, records: list[Row], grant: SummaryGrant, today: date, rules: tuple[ContraindicationRule, ...] = ()
) -> Summary:
    """Build the summary from :func:`find_subject`'s row and :func:`load_records`' rows, applying the windows.

    ``rules`` is the 併用禁忌 rule table the current medications are checked against.
    """
    grouped: dict[str, list[Row]] = {kind: [] for kind in (*SUMMARY_CATEGORIES, "medication", "visit")}
    for row in records:
        grouped[row.kind].append(row)

    dialysis_since = months_before(today, CLAIMS_MONTHS)
    return Summary(
        grant_id=grant.id,
        grant_expires_at=grant.expires_at.isoformat(),
        consent_mode=grant.mode,
        generated_at=datetime.now(timezone.utc).isoformat(),
        patient=_patient_info(subject),
        insurance=_insurance(subject),
        medications=_medications(grouped["medication"], today),
        visits=_visits(grouped["visit"]),
        conditions=_named_items(grouped["condition"], None),
        allergies=_named_items(grouped["allergy"], None),
        surgeries=_named_items(grouped["surgery"], months_before(today, 12 * SURGERY_YEARS)),
        dialysis=subject.dialysis or bool(_named_items(grouped["dialysis"], dialysis_since)),
        infections=_named_items(grouped["infection"], None),
        last_checkup_on=subject.last_checkup_on.isoformat() if subject.last_checkup_on else None,
        procedures=_named_items(grouped["procedure"], months_before(today, CLAIMS_MONTHS)),
        interactions=interactions_between(_current_drugs(grouped["medication"], today), rules),
    )


def _patient_info(subject: Row) -> PatientInfo:
    return PatientInfo(
        family_name=subject.family_name,
        given_name=subject.given_name,
        family_kana=subject.family_kana,
        given_kana=subject.given_kana,
        birth_date=subject.birth_date.isoformat(),
        sex=subject.sex,
        address=subject.address,
    )


# The statements are built once: building a select is a measurable part of each
# summary request, and bound parameters carry the patient and the window.
_NEWEST_INSURANCE = (
    select(Insurance.id)
    .where(Insurance.patient_id == Patient.id)
    .order_by(Insurance.valid_from.desc(), Insurance.id.desc())
    .limit(1)
    .correlate(Patient)
    .scalar_subquery()
)
_SUBJECT_QUERY = (
    select(
        Patient.id, Patient.family_name, Patient.given_name, Patient.family_kana, Patient.given_kana,
        Patient.birth_date, Patient.sex, Patient.address, Patient.dialysis, Patient.last_checkup_on,
        Insurance.id.label("insurance_id"), Insurance.insurer_number, Insurance.insurer_name, Insurance.symbol,
        Insurance.number, Insurance.branch, Insurance.relationship, Insurance.copay_ratio, Insurance.valid_from,
        Insurance.valid_to, Insurance.limit_category,
        ConsentGrant.id.label("earlier_grant_id"), ConsentGrant.patient_id.label("earlier_grant_patient_id"),
        ConsentGrant.incident_id.label("earlier_grant_incident_id"), ConsentGrant.mode.label("earlier_grant_mode"),
        ConsentGrant.expires_at.label("earlier_grant_expires_at"),
        ConsentGrant.revoked_at.label("earlier_grant_revoked_at"),
    )
    .select_from(CardLink)
    .join(Patient, Patient.id == CardLink.patient_id)
    .outerjoin(Insurance, Insurance.id == _NEWEST_INSURANCE)
    .outerjoin(
        ConsentGrant,
        (ConsentGrant.client_id == bindparam("client_id")) & (ConsentGrant.request_id == bindparam("request_id")),
    )
    .where(CardLink.issuer == bindparam("issuer"), CardLink.serial_hex == bindparam("serial_hex"))
)

SUMMARY_CATEGORIES = ("condition", "allergy", "surgery", "dialysis", "infection", "procedure")


def _no(kind: type) -> Any:
    """Return a typed NULL, so that PostgreSQL can unify the UNION ALL branches' column types."""
    return cast(null(), kind)


# One row shape for the three tables: kind, name, code, ingredient, happened_on,
# days, dose, source, hospital, detail, route. A visit's department is its name.
_RECORDS_QUERY = union_all(
    select(
        literal_column("'medication'").label("kind"), Medication.drug_name.label("name"),
        Medication.drug_code.label("code"), Medication.ingredient.label("ingredient"),
        Medication.dispensed_on.label("happened_on"), Medication.days.label("days"), Medication.dose.label("dose"),
        Medication.source.label("source"), Medication.hospital_name.label("hospital"),
        _no(String).label("detail"), Medication.route.label("route"),
    ).where(Medication.patient_id == bindparam("patient_id"), Medication.dispensed_on >= bindparam("claims_from")),
    select(
        literal_column("'visit'"), Visit.department, Visit.hospital_code, _no(String), Visit.visited_on,
        _no(Integer), _no(String), _no(String), Visit.hospital_name, _no(String), _no(String),
    ).where(Visit.patient_id == bindparam("patient_id"), Visit.visited_on >= bindparam("claims_from")),
    select(
        ClinicalItem.category, ClinicalItem.name, _no(String), _no(String), ClinicalItem.recorded_on,
        _no(Integer), _no(String), _no(String), _no(String), ClinicalItem.detail, _no(String),
    ).where(ClinicalItem.patient_id == bindparam("patient_id"), ClinicalItem.category.in_(SUMMARY_CATEGORIES)),
).order_by(literal_column("happened_on").desc().nulls_last())


def _insurance(subject: Row) -> InsuranceInfo | None:
    if subject.insurance_id is None:
        return None

    return InsuranceInfo(
        insurer_number=subject.insurer_number,
        insurer_name=subject.insurer_name,
        symbol=subject.symbol,
        number=subject.number,
        branch=subject.branch,
        relationship=subject.relationship,
        copay_ratio=subject.copay_ratio,
        valid_from=subject.valid_from.isoformat(),
        valid_to=subject.valid_to.isoformat() if subject.valid_to else None,
        limit_category=subject.limit_category,
    )


def _medications(rows: list[Row], today: date) -> list[MedicationItem]:
    eprescription_from = date.fromordinal(today.toordinal() - EPRESCRIPTION_DAYS)
    items = []
    for row in rows:
        if row.source == "eprescription" and row.happened_on < eprescription_from:
            continue

        items.append(
            MedicationItem(
                drug_code=row.code,
                drug_name=row.name,
                ingredient=row.ingredient,
                dispensed_on=row.happened_on.isoformat(),
                days=row.days,
                dose=row.dose,
                source=row.source,
                hospital_name=row.hospital,
                high_risk=high_risk_class(row.ingredient),
            )
        )

    return items


def _current_drugs(rows: list[Row], today: date) -> list[CurrentDrug]:
    """Return the medications still taken today (days' supply, or 14 days when it cannot be computed).

    NOTE: only drugs dispensed within the 3-month window are read, so a supply
    longer than 3 months that started before the window is not checked here.
    """
    return [
        CurrentDrug(name=row.name, ingredient=row.ingredient, route=row.route, hospital_name=row.hospital)
        for row in rows
        if taking_until(row.happened_on, row.days) >= today
    ]


def _visits(rows: list[Row]) -> list[VisitItem]:
    return [
        VisitItem(hospital_code=row.code, hospital_name=row.hospital, visited_on=row.happened_on.isoformat(), department=row.name)
        for row in rows
    ]


def _named_items(rows: list[Row], since: date | None) -> list[NamedDateItem]:
    """Keep the rows inside the window; with a window, an item without a date is left out, as SQL's >= does."""
    return [
        NamedDateItem(name=row.name, date=row.happened_on.isoformat() if row.happened_on else None, detail=row.detail)
        for row in rows
        if since is None or (row.happened_on is not None and row.happened_on >= since)
    ]
