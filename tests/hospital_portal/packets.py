"""Made-up transfer packets for the portal and handover PDF tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from hub.contract import (
    InsuranceInfo,
    MedicationItem,
    NamedDateItem,
    PatientInfo,
    Summary,
    TransferPacket,
    VisitItem,
    Vitals,
)


def iso_minutes_ago(minutes: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()


def sample_summary(medication_count: int = 3, visit_count: int = 2) -> Summary:
    medications = [
        MedicationItem(
            drug_code=f"{index:09d}",
            drug_name=f"テスト錠{index}mg",
            ingredient="テスト成分",
            dispensed_on="2025-01-10",
            days=28,
            dose="1日1回朝食後",
            source="調剤",
            hospital_name="みなと薬局",
        )
        for index in range(medication_count)
    ]
    medications.append(
        MedicationItem(
            drug_code="333000001", drug_name="ワルファリンK錠1mg", ingredient="ワルファリンカリウム",
            dispensed_on="2025-01-12", days=30, dose="1日1回", source="調剤", hospital_name="みなと薬局",
            high_risk="抗凝固薬",
        )
    )
    visits = [
        VisitItem(hospital_code=f"13{index:08d}", hospital_name=f"港クリニック{index}", visited_on="2024-12-01", department="内科")
        for index in range(visit_count)
    ]
    return Summary(
        grant_id="grant-1",
        grant_expires_at=iso_minutes_ago(-60),
        consent_mode="verbal",
        generated_at=iso_minutes_ago(5),
        patient=PatientInfo(
            family_name="救急", given_name="花子", family_kana="キュウキュウ", given_kana="ハナコ",
            birth_date="1940-04-01", sex="2", address="東京都港区芝公園1-1",
        ),
        insurance=InsuranceInfo(
            insurer_number="39131015", insurer_name="東京都後期高齢者医療広域連合", symbol="", number="12345678",
            branch="00", relationship="本人", copay_ratio=1, valid_from="2024-08-01",
        ),
        medications=medications,
        visits=visits,
        conditions=[NamedDateItem(name="心房細動", date="2020-05-01")],
        allergies=[NamedDateItem(name="ペニシリン系抗菌薬", detail="発疹")],
        surgeries=[NamedDateItem(name="大腿骨頸部骨折手術", date="2019-03-15")],
        dialysis=True,
        last_checkup_on="2024-06-01",
    )


def sample_packet(
    hospital_codes: list[str] | None = None,
    summary: Summary | None = None,
    vitals_count: int = 3,
    notes: str = "自宅で転倒。左股関節痛。",
    eta_minutes: int | None = 12,
    chief_complaint: str = "意識障害",
) -> TransferPacket:
    vitals = [
        Vitals(
            measured_at=iso_minutes_ago(20 - index * 5), jcs="II-10", systolic_bp=150 - index * 10, diastolic_bp=90,
            heart_rate=110 + index, respiratory_rate=22, spo2=94 - index, body_temperature=36.8,
        )
        for index in range(vitals_count)
    ]
    return TransferPacket(
        packet_id=str(uuid.uuid4()),
        incident_id="INC-" + uuid.uuid4().hex[:8],
        hospital_codes=hospital_codes or ["1311111111"],
        sent_at=iso_minutes_ago(1),
        unit_name="港救急1",
        chief_complaint=chief_complaint,
        eta_minutes=eta_minutes,
        grant_id="grant-1",
        summary=summary if summary is not None else sample_summary(),
        vitals=vitals,
        notes=notes,
    )
