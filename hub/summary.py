"""The 救急用サマリー (emergency summary) and its official display windows.

Windows (MHLW, adopted by FDMA for マイナ救急): 受診歴 (visits), 薬剤 (claims-based
drugs), 診療 and 透析 3 months; 電子処方箋 (e-prescriptions) 45 days; 手術
(surgery) 5 years; 健診 (check-ups) as the date only.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Row, bindparam, select

from hub.contract import InsuranceInfo, MedicationItem, NamedDateItem, PatientInfo, Summary, VisitItem
from hub.models import ClinicalItem, ConsentGrant, Insurance, Medication, Patient, Visit, db

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


def build_summary(patient: Patient, grant: ConsentGrant, today: date) -> Summary:
    """Build the summary with four queries, one per record table, filtering the windows in SQL where it can."""
    clinical = _clinical_by_category(patient.id, today)
    dialysis_since = months_before(today, CLAIMS_MONTHS)
    return Summary(
        grant_id=grant.id,
        grant_expires_at=grant.expires_at.isoformat(),
        consent_mode=grant.mode,
        generated_at=datetime.now(timezone.utc).isoformat(),
        patient=_patient_info(patient),
        insurance=_insurance(patient),
        medications=_medications(patient, today),
        visits=_visits(patient, today),
        conditions=_named_items(clinical["condition"], None),
        allergies=_named_items(clinical["allergy"], None),
        surgeries=_named_items(clinical["surgery"], months_before(today, 12 * SURGERY_YEARS)),
        dialysis=patient.dialysis or bool(_named_items(clinical["dialysis"], dialysis_since)),
        infections=_named_items(clinical["infection"], None),
        last_checkup_on=patient.last_checkup_on.isoformat() if patient.last_checkup_on else None,
    )


def _patient_info(patient: Patient) -> PatientInfo:
    return PatientInfo(
        family_name=patient.family_name,
        given_name=patient.given_name,
        family_kana=patient.family_kana,
        given_kana=patient.given_kana,
        birth_date=patient.birth_date.isoformat(),
        sex=patient.sex,
        address=patient.address,
    )


# The statements are built once: building a select is a measurable part of each
# summary request, and bound parameters carry the patient and the window.
_INSURANCE_QUERY = (
    select(
        Insurance.insurer_number, Insurance.insurer_name, Insurance.symbol, Insurance.number, Insurance.branch,
        Insurance.relationship, Insurance.copay_ratio, Insurance.valid_from, Insurance.valid_to,
        Insurance.limit_category,
    )
    .where(Insurance.patient_id == bindparam("patient_id"))
    .order_by(Insurance.valid_from.desc())
    .limit(1)
)
_MEDICATION_QUERY = (
    select(
        Medication.drug_code, Medication.drug_name, Medication.ingredient, Medication.dispensed_on, Medication.days,
        Medication.dose, Medication.source, Medication.hospital_name,
    )
    .where(Medication.patient_id == bindparam("patient_id"), Medication.dispensed_on >= bindparam("since"))
    .order_by(Medication.dispensed_on.desc())
)
_VISIT_QUERY = (
    select(Visit.hospital_code, Visit.hospital_name, Visit.visited_on, Visit.department)
    .where(Visit.patient_id == bindparam("patient_id"), Visit.visited_on >= bindparam("since"))
    .order_by(Visit.visited_on.desc())
)
SUMMARY_CATEGORIES = ("condition", "allergy", "surgery", "dialysis", "infection")
_CLINICAL_QUERY = (
    select(ClinicalItem.category, ClinicalItem.name, ClinicalItem.recorded_on, ClinicalItem.detail)
    .where(ClinicalItem.patient_id == bindparam("patient_id"), ClinicalItem.category.in_(SUMMARY_CATEGORIES))
    .order_by(ClinicalItem.recorded_on.desc())
)


def _insurance(patient: Patient) -> InsuranceInfo | None:
    row = db.session.execute(_INSURANCE_QUERY, {"patient_id": patient.id}).first()
    if row is None:
        return None

    return InsuranceInfo(
        insurer_number=row.insurer_number,
        insurer_name=row.insurer_name,
        symbol=row.symbol,
        number=row.number,
        branch=row.branch,
        relationship=row.relationship,
        copay_ratio=row.copay_ratio,
        valid_from=row.valid_from.isoformat(),
        valid_to=row.valid_to.isoformat() if row.valid_to else None,
        limit_category=row.limit_category,
    )


def _medications(patient: Patient, today: date) -> list[MedicationItem]:
    claims_from = months_before(today, CLAIMS_MONTHS)
    eprescription_from = date.fromordinal(today.toordinal() - EPRESCRIPTION_DAYS)
    rows = db.session.execute(_MEDICATION_QUERY, {"patient_id": patient.id, "since": claims_from})

    items = []
    for row in rows:
        if row.source == "eprescription" and row.dispensed_on < eprescription_from:
            continue

        items.append(
            MedicationItem(
                drug_code=row.drug_code,
                drug_name=row.drug_name,
                ingredient=row.ingredient,
                dispensed_on=row.dispensed_on.isoformat(),
                days=row.days,
                dose=row.dose,
                source=row.source,
                hospital_name=row.hospital_name,
                high_risk=high_risk_class(row.ingredient),
            )
        )

    return items


def _visits(patient: Patient, today: date) -> list[VisitItem]:
    rows = db.session.execute(_VISIT_QUERY, {"patient_id": patient.id, "since": months_before(today, CLAIMS_MONTHS)})
    return [
        VisitItem(
            hospital_code=row.hospital_code,
            hospital_name=row.hospital_name,
            visited_on=row.visited_on.isoformat(),
            department=row.department,
        )
        for row in rows
    ]


def _clinical_by_category(patient_id: int, today: date) -> dict[str, list[Row]]:
    """Load the summary's clinical items in one query, newest first, grouped by category."""
    grouped: dict[str, list[Row]] = {category: [] for category in SUMMARY_CATEGORIES}
    for row in db.session.execute(_CLINICAL_QUERY, {"patient_id": patient_id}):
        grouped[row.category].append(row)

    return grouped


def _named_items(rows: list[Row], since: date | None) -> list[NamedDateItem]:
    """Keep the rows inside the window; with a window, an item without a date is left out, as SQL's >= does."""
    return [
        NamedDateItem(
            name=row.name,
            date=row.recorded_on.isoformat() if row.recorded_on else None,
            detail=row.detail,
        )
        for row in rows
        if since is None or (row.recorded_on is not None and row.recorded_on >= since)
    ]
