"""Load demo data into the hub: hospitals, the drug list, synthetic patients,
card links and API clients. Running it again changes nothing that is there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from hub.auth import token_digest
from hub.demo_data import SyntheticPatient
from hub.models import ApiClient, CardLink, ClinicalItem, Drug, Insurance, Medication, Organization, Patient, Visit, db
from hub.public_data import DrugRecord, HospitalRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientSpec:
    name: str
    role: str
    organization_code: str
    token: str


@dataclass(frozen=True)
class CardLinkSpec:
    patient_key: str
    issuer: str
    serial_hex: str


def seed_organizations(hospitals: Iterable[HospitalRecord], fire_departments: Iterable[tuple[str, str]]) -> None:
    """Add the fire departments and hospitals not yet stored, and refresh the list details of stored hospitals.

    A hub migrated from before the hospital details existed gets its
    departments, bed counts and stroke care filled in by running the seed again.
    """
    stored = {row.code: row for row in db.session.execute(db.select(Organization)).scalars()}
    for code, name in fire_departments:
        if code not in stored:
            db.session.add(Organization(code=code, kind="fire_department", name=name))

    for hospital in hospitals:
        row = stored.get(hospital.code)
        if row is None:
            row = Organization(
                code=hospital.code,
                kind="hospital",
                name=hospital.name,
                address=hospital.address,
                latitude=hospital.latitude,
                longitude=hospital.longitude,
                emergency_designated=hospital.emergency_designated,
            )
            db.session.add(row)

        if row.kind == "hospital":
            row.departments = list(hospital.departments)
            row.beds = hospital.beds
            row.stroke_care = hospital.acute_stroke_care

    db.session.commit()


def seed_drugs(drugs: Iterable[DrugRecord]) -> None:
    if db.session.execute(db.select(Drug.code).limit(1)).first() is not None:
        return

    db.session.add_all(Drug(code=drug.code, name=drug.name, ingredient=drug.ingredient) for drug in drugs)
    db.session.commit()


def seed_patients(patients: Iterable[SyntheticPatient], hospital_names: dict[str, str]) -> None:
    known = set(db.session.execute(db.select(Patient.patient_key)).scalars())
    for synthetic in patients:
        if synthetic.patient_id in known:
            continue

        patient = _patient_row(synthetic)
        db.session.add(patient)
        db.session.flush()
        db.session.add_all(_record_rows(patient.id, synthetic, hospital_names))

    db.session.commit()


def seed_card_links(links: Iterable[CardLinkSpec]) -> None:
    for link in links:
        patient_id = db.session.execute(
            db.select(Patient.id).where(Patient.patient_key == link.patient_key)
        ).scalar_one()
        exists = db.session.execute(
            db.select(CardLink.id).where(CardLink.issuer == link.issuer, CardLink.serial_hex == link.serial_hex)
        ).first()
        if exists is None:
            db.session.add(CardLink(issuer=link.issuer, serial_hex=link.serial_hex, patient_id=patient_id))

    db.session.commit()


def seed_clients(clients: Iterable[ClientSpec]) -> None:
    for spec in clients:
        row = db.session.execute(db.select(ApiClient).where(ApiClient.name == spec.name)).scalar_one_or_none()
        if row is None:
            row = ApiClient(name=spec.name)
            db.session.add(row)

        row.role = spec.role
        row.organization_code = spec.organization_code
        row.token_sha256 = token_digest(spec.token)

    db.session.commit()


def _patient_row(synthetic: SyntheticPatient) -> Patient:
    return Patient(
        patient_key=synthetic.patient_id,
        family_name=synthetic.family_name,
        given_name=synthetic.given_name,
        family_kana=synthetic.family_kana,
        given_kana=synthetic.given_kana,
        birth_date=synthetic.birth_date,
        sex=synthetic.sex,
        address=synthetic.address,
        dialysis=synthetic.dialysis,
        last_checkup_on=synthetic.last_checkup_on,
    )


def _record_rows(patient_id: int, synthetic: SyntheticPatient, hospital_names: dict[str, str]) -> list[object]:
    insurance = synthetic.insurance
    rows: list[object] = [
        Insurance(
            patient_id=patient_id,
            insurer_number=insurance.insurer_number,
            insurer_name=insurance.insurer_name,
            symbol=insurance.symbol,
            number=insurance.number,
            branch=insurance.branch,
            relationship=insurance.relationship,
            copay_ratio=insurance.copay_ratio,
            valid_from=insurance.valid_from,
            valid_to=insurance.valid_to,
            limit_category=insurance.limit_category,
        )
    ]
    rows += [
        Visit(
            patient_id=patient_id,
            hospital_code=visit.hospital_code,
            hospital_name=visit.hospital_name,
            visited_on=visit.visited_on,
            department=visit.department,
        )
        for visit in synthetic.visits
    ]
    rows += [
        Medication(
            patient_id=patient_id,
            drug_code=medication.drug_code,
            drug_name=medication.drug_name,
            ingredient=medication.ingredient,
            dispensed_on=medication.dispensed_on,
            days=medication.days,
            dose=medication.dose,
            hospital_name=hospital_names.get(medication.hospital_code, medication.hospital_code),
            source=medication.source,
        )
        for medication in synthetic.medications
    ]
    rows += [
        ClinicalItem(patient_id=patient_id, category="condition", name=c.name, recorded_on=c.recorded_on, detail=c.icd10)
        for c in synthetic.conditions
    ]
    rows += [
        ClinicalItem(patient_id=patient_id, category="allergy", name=a.substance, recorded_on=None, detail=a.reaction)
        for a in synthetic.allergies
    ]
    rows += [
        ClinicalItem(
            patient_id=patient_id,
            category="surgery",
            name=s.name,
            recorded_on=s.performed_on,
            detail=hospital_names.get(s.hospital_code, s.hospital_code),
        )
        for s in synthetic.surgeries
    ]
    return rows
