"""The 救急用サマリー (emergency summary) and its official display windows.

Windows (MHLW, adopted by FDMA for マイナ救急): 受診歴 (visits), 薬剤 (claims-based
drugs), 診療 and 透析 3 months; 電子処方箋 (e-prescriptions) 45 days; 手術
(surgery) 5 years; 健診 (check-ups) as the date only.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

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
    return Summary(
        grant_id=grant.id,
        grant_expires_at=grant.expires_at.isoformat(),
        consent_mode=grant.mode,
        generated_at=datetime.now(timezone.utc).isoformat(),
        patient=_patient_info(patient),
        insurance=_insurance(patient),
        medications=_medications(patient, today),
        visits=_visits(patient, today),
        conditions=_clinical(patient, "condition", None),
        allergies=_clinical(patient, "allergy", None),
        surgeries=_clinical(patient, "surgery", months_before(today, 12 * SURGERY_YEARS)),
        dialysis=patient.dialysis or bool(_clinical(patient, "dialysis", months_before(today, CLAIMS_MONTHS))),
        infections=_clinical(patient, "infection", None),
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


def _insurance(patient: Patient) -> InsuranceInfo | None:
    row = db.session.execute(
        db.select(Insurance).where(Insurance.patient_id == patient.id).order_by(Insurance.valid_from.desc())
    ).scalars().first()
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
    rows = db.session.execute(
        db.select(Medication)
        .where(Medication.patient_id == patient.id, Medication.dispensed_on >= claims_from)
        .order_by(Medication.dispensed_on.desc())
    ).scalars()

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
    rows = db.session.execute(
        db.select(Visit)
        .where(Visit.patient_id == patient.id, Visit.visited_on >= months_before(today, CLAIMS_MONTHS))
        .order_by(Visit.visited_on.desc())
    ).scalars()
    return [
        VisitItem(
            hospital_code=row.hospital_code,
            hospital_name=row.hospital_name,
            visited_on=row.visited_on.isoformat(),
            department=row.department,
        )
        for row in rows
    ]


def _clinical(patient: Patient, category: str, since: date | None) -> list[NamedDateItem]:
    query = db.select(ClinicalItem).where(ClinicalItem.patient_id == patient.id, ClinicalItem.category == category)
    if since is not None:
        query = query.where(ClinicalItem.recorded_on >= since)

    rows = db.session.execute(query.order_by(ClinicalItem.recorded_on.desc())).scalars()
    return [
        NamedDateItem(
            name=row.name,
            date=row.recorded_on.isoformat() if row.recorded_on else None,
            detail=row.detail,
        )
        for row in rows
    ]
