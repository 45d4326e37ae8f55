"""Tests of the synthetic patient generator on the real hospital and drug lists.

The tests skip when the public data files are missing. Set ``MYNA_SHARED_DATA`` to their folder.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from hub.demo_data import (
    SyntheticPatient,
    from_dict,
    generate_patients,
    insurer_number_check_digit,
    to_dict,
)
from hub.public_data import (
    DRUG_FILE,
    HOSPITAL_FILE,
    DrugRecord,
    HospitalRecord,
    distance_km,
    in_hokkaido,
    load_drugs,
    load_hospitals,
    municipality_of,
    public_data_dir,
)

DATA_DIR = public_data_dir()

pytestmark = pytest.mark.skipif(
    not (DATA_DIR / HOSPITAL_FILE).exists() or not (DATA_DIR / DRUG_FILE).exists(),
    reason=f"public data files not found under {DATA_DIR}; set MYNA_SHARED_DATA",
)

TODAY = date(2025, 12, 1)
SEED = 20251201
COUNT = 40

# Margins inside and outside the 救急用サマリー windows, whether a tool counts
# 3 months as 90 days or as calendar months (at least 89 days).
INSIDE_3_MONTHS = TODAY - timedelta(days=89)
OUTSIDE_3_MONTHS = TODAY - timedelta(days=92)
INSIDE_45_DAYS = TODAY - timedelta(days=45)
INSIDE_100_DAYS = TODAY - timedelta(days=100)
FIVE_YEARS_AGO = date(TODAY.year - 5, TODAY.month, TODAY.day)

ANTICOAGULANTS = ("ワルファリンカリウム", "アピキサバン", "リバーロキサバン", "エドキサバン", "ダビガトラン")
KATAKANA = re.compile(r"[ァ-ヶー]+")


@pytest.fixture(scope="module")
def hospitals() -> list[HospitalRecord]:
    return load_hospitals(DATA_DIR / HOSPITAL_FILE)


@pytest.fixture(scope="module")
def drugs() -> list[DrugRecord]:
    return load_drugs(DATA_DIR / DRUG_FILE)


@pytest.fixture(scope="module")
def patients(hospitals: list[HospitalRecord], drugs: list[DrugRecord]) -> list[SyntheticPatient]:
    return generate_patients(hospitals, drugs, COUNT, SEED, TODAY)


def _age(patient: SyntheticPatient) -> int:
    birthday_passed = (TODAY.month, TODAY.day) >= (patient.birth_date.month, patient.birth_date.day)
    return TODAY.year - patient.birth_date.year - (0 if birthday_passed else 1)


# ---------------------------------------------------------------------------
# Determinism


def test_generate_same_seed_same_patients(
    hospitals: list[HospitalRecord], drugs: list[DrugRecord], patients: list[SyntheticPatient]
) -> None:
    again = generate_patients(hospitals, drugs, COUNT, SEED, TODAY)

    assert again == patients
    assert [to_dict(patient) for patient in again] == [to_dict(patient) for patient in patients]


def test_generate_other_seed_differs(
    hospitals: list[HospitalRecord], drugs: list[DrugRecord], patients: list[SyntheticPatient]
) -> None:
    other = generate_patients(hospitals, drugs, COUNT, SEED + 1, TODAY)

    assert [to_dict(patient) for patient in other] != [to_dict(patient) for patient in patients]


def test_generate_prefix_independent_of_count(
    hospitals: list[HospitalRecord], drugs: list[DrugRecord], patients: list[SyntheticPatient]
) -> None:
    first_three = generate_patients(hospitals, drugs, 3, SEED, TODAY)

    assert first_three == patients[:3]


def test_generate_zero_patients(hospitals: list[HospitalRecord], drugs: list[DrugRecord]) -> None:
    assert generate_patients(hospitals, drugs, 0, SEED, TODAY) == []


def test_generate_rejects_negative_count(hospitals: list[HospitalRecord], drugs: list[DrugRecord]) -> None:
    with pytest.raises(ValueError, match="invalid count"):
        generate_patients(hospitals, drugs, -1, SEED, TODAY)


def test_patient_ids_unique(patients: list[SyntheticPatient]) -> None:
    ids = [patient.patient_id for patient in patients]

    assert len(set(ids)) == len(ids)


# ---------------------------------------------------------------------------
# The three demo card holders


def test_patient_zero_elderly_anticoagulated(patients: list[SyntheticPatient]) -> None:
    patient = patients[0]

    assert _age(patient) >= 75
    assert any(medication.ingredient in ANTICOAGULANTS for medication in patient.medications)
    assert any(medication.ingredient == "ワルファリンカリウム" for medication in patient.medications)
    assert any(medication.ingredient.startswith("アムロジピン") for medication in patient.medications)
    assert patient.allergies
    assert any(surgery.performed_on >= FIVE_YEARS_AGO for surgery in patient.surgeries)
    assert patient.insurance.insurer_number.startswith("39")


def test_patient_one_insulin_dialysis(patients: list[SyntheticPatient]) -> None:
    patient = patients[1]

    assert patient.dialysis is True
    assert any(medication.ingredient.startswith("インスリン") for medication in patient.medications)
    assert not any(medication.ingredient.startswith("メトホルミン") for medication in patient.medications)
    assert any(condition.icd10.startswith("N18") for condition in patient.conditions)


def test_patient_two_young_few_records(patients: list[SyntheticPatient]) -> None:
    patient = patients[2]

    assert _age(patient) < 40
    assert len(patient.medications) <= 8
    assert len(patient.conditions) <= 2
    assert patient.surgeries == []
    assert patient.dialysis is False
    assert patient.last_checkup_on is None


def test_first_three_distinct(patients: list[SyntheticPatient]) -> None:
    ingredient_sets = [frozenset(m.ingredient for m in patient.medications) for patient in patients[:3]]

    assert len(set(ingredient_sets)) == 3


@pytest.mark.parametrize("index", [0, 1, 2])
def test_first_three_windows(patients: list[SyntheticPatient], index: int) -> None:
    patient = patients[index]
    dispensed = [medication.dispensed_on for medication in patient.medications]
    claims = [medication.dispensed_on for medication in patient.medications if medication.source == "claims"]
    eprescriptions = [m.dispensed_on for m in patient.medications if m.source == "eprescription"]

    assert any(day >= INSIDE_3_MONTHS for day in dispensed)
    assert any(day < OUTSIDE_3_MONTHS for day in dispensed)
    assert any(day >= INSIDE_3_MONTHS for day in claims)
    assert any(day >= INSIDE_45_DAYS for day in eprescriptions)
    assert sum(visit.visited_on >= INSIDE_3_MONTHS for visit in patient.visits) >= 2
    assert any(visit.visited_on < OUTSIDE_3_MONTHS for visit in patient.visits)


# ---------------------------------------------------------------------------
# Every patient


def test_dates_not_in_future(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        dates = [patient.birth_date, patient.insurance.valid_from]
        dates += [visit.visited_on for visit in patient.visits]
        dates += [medication.dispensed_on for medication in patient.medications]
        dates += [surgery.performed_on for surgery in patient.surgeries]
        dates += [condition.recorded_on for condition in patient.conditions]
        if patient.last_checkup_on is not None:
            dates.append(patient.last_checkup_on)

        assert max(dates) <= TODAY, patient.patient_id


def test_visits_within_five_years(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        assert patient.visits, patient.patient_id
        assert all(visit.visited_on >= FIVE_YEARS_AGO for visit in patient.visits), patient.patient_id


def test_eprescriptions_within_100_days(patients: list[SyntheticPatient]) -> None:
    eprescriptions = [m for patient in patients for m in patient.medications if m.source == "eprescription"]

    assert eprescriptions
    assert all(medication.dispensed_on >= INSIDE_100_DAYS for medication in eprescriptions)
    assert any(medication.dispensed_on >= INSIDE_45_DAYS for medication in eprescriptions)


def test_claims_older_than_claims_lag(patients: list[SyntheticPatient]) -> None:
    # Claims-based drug data arrives about 1.5 months after dispensing.
    claims = [m for patient in patients for m in patient.medications if m.source == "claims"]

    assert all(medication.dispensed_on < TODAY - timedelta(days=45) for medication in claims)


def test_drug_codes_exist(patients: list[SyntheticPatient], drugs: list[DrugRecord]) -> None:
    by_code = {drug.code: drug for drug in drugs}

    for patient in patients:
        for medication in patient.medications:
            drug = by_code.get(medication.drug_code)
            assert drug is not None, medication.drug_code
            assert medication.drug_name == drug.name
            assert medication.ingredient == drug.ingredient


def test_hospital_codes_exist(patients: list[SyntheticPatient], hospitals: list[HospitalRecord]) -> None:
    by_code = {hospital.code: hospital for hospital in hospitals}

    for patient in patients:
        for visit in patient.visits:
            assert visit.hospital_code in by_code, visit.hospital_code
            assert visit.hospital_name == by_code[visit.hospital_code].name

        for medication in patient.medications:
            assert medication.hospital_code in by_code, medication.hospital_code

        for surgery in patient.surgeries:
            assert surgery.hospital_code in by_code, surgery.hospital_code
            assert by_code[surgery.hospital_code].emergency_designated


def test_each_dispensing_has_visit(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        visits = {(visit.hospital_code, visit.visited_on) for visit in patient.visits}
        for medication in patient.medications:
            assert (medication.hospital_code, medication.dispensed_on) in visits, (patient.patient_id, medication)


def test_homes_near_real_hospital(patients: list[SyntheticPatient], hospitals: list[HospitalRecord]) -> None:
    located = [hospital for hospital in hospitals if hospital.latitude is not None and hospital.longitude is not None]

    for patient in patients:
        assert in_hokkaido(patient.latitude, patient.longitude), patient.patient_id
        nearest = min(distance_km(h.latitude, h.longitude, patient.latitude, patient.longitude) for h in located)
        assert nearest < 5.0, patient.patient_id


def test_home_address_in_hospital_municipality(
    patients: list[SyntheticPatient], hospitals: list[HospitalRecord]
) -> None:
    municipalities = {municipality_of(hospital.address) for hospital in hospitals} - {None}

    for patient in patients:
        assert municipality_of(patient.address) in municipalities, patient.address
        assert "?" not in patient.address


def test_names_synthetic_shape(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        assert patient.family_name and patient.given_name
        assert KATAKANA.fullmatch(patient.family_kana), patient.family_kana
        assert KATAKANA.fullmatch(patient.given_kana), patient.given_kana
        assert patient.sex in ("1", "2")


def test_insurance_fields(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        insurance = patient.insurance
        number = insurance.insurer_number

        assert re.fullmatch(r"\d{8}", number), number
        assert number[7] == insurer_number_check_digit(number[:7]), number
        assert re.fullmatch(r"\d{2}", insurance.branch), insurance.branch
        assert insurance.relationship in ("本人", "家族")
        assert insurance.valid_to is None or insurance.valid_to >= TODAY


def test_insurance_copay_by_age(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        age = _age(patient)
        insurance = patient.insurance

        if age >= 75:
            assert insurance.insurer_number.startswith("39"), patient.patient_id
            assert insurance.copay_ratio in (10, 20, 30)
        elif age >= 70:
            assert insurance.copay_ratio == 20, patient.patient_id
        else:
            assert insurance.copay_ratio == 30, patient.patient_id


def test_conditions_have_icd10(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        assert patient.conditions, patient.patient_id
        for condition in patient.conditions:
            assert re.fullmatch(r"[A-Z]\d{2}(\.\d)?", condition.icd10), condition


def test_generated_mix_has_steroid_and_oral_diabetic(
    hospitals: list[HospitalRecord], drugs: list[DrugRecord]
) -> None:
    many = generate_patients(hospitals, drugs, 120, SEED, TODAY)
    ingredients = {medication.ingredient for patient in many for medication in patient.medications}

    assert "プレドニゾロン" in ingredients
    assert "メトホルミン塩酸塩" in ingredients


# ---------------------------------------------------------------------------
# Missing inputs


def test_missing_ingredient_fails_loudly(hospitals: list[HospitalRecord], drugs: list[DrugRecord]) -> None:
    without_warfarin = [drug for drug in drugs if "ワルファリン" not in drug.ingredient]

    with pytest.raises(LookupError, match="ワルファリンカリウム"):
        generate_patients(hospitals, without_warfarin, 1, SEED, TODAY)


def test_no_usable_hospital_fails(drugs: list[DrugRecord]) -> None:
    hospital = HospitalRecord("HKD9999", "テスト病院", "", None, None, False, ("内",), None)

    with pytest.raises(ValueError, match="no hospital"):
        generate_patients([hospital], drugs, 1, SEED, TODAY)


# ---------------------------------------------------------------------------
# JSON conversion


def test_json_round_trip(patients: list[SyntheticPatient]) -> None:
    for patient in patients:
        text = json.dumps(to_dict(patient), ensure_ascii=False)

        assert from_dict(json.loads(text)) == patient


def test_to_dict_dates_iso(patients: list[SyntheticPatient]) -> None:
    data = to_dict(patients[0])

    assert data["birth_date"] == patients[0].birth_date.isoformat()
    assert data["insurance"]["valid_from"] == patients[0].insurance.valid_from.isoformat()
    assert data["medications"][0]["dispensed_on"] == patients[0].medications[0].dispensed_on.isoformat()


def test_from_dict_missing_field(patients: list[SyntheticPatient]) -> None:
    data = to_dict(patients[0])
    del data["insurance"]["insurer_number"]

    with pytest.raises(ValueError, match="missing field patient.insurance.insurer_number"):
        from_dict(data)


def test_from_dict_bad_date(patients: list[SyntheticPatient]) -> None:
    data = to_dict(patients[0])
    data["visits"][0]["visited_on"] = "2025/11/01"

    with pytest.raises(ValueError, match=r"patient.visits\[0\].visited_on"):
        from_dict(data)


def test_from_dict_bad_source(patients: list[SyntheticPatient]) -> None:
    data = to_dict(patients[0])
    data["medications"][0]["source"] = "paper"

    with pytest.raises(ValueError, match="invalid source 'paper'"):
        from_dict(data)


def test_from_dict_optional_fields_default(patients: list[SyntheticPatient]) -> None:
    data = to_dict(patients[2])
    del data["allergies"]
    del data["last_checkup_on"]

    patient = from_dict(data)

    assert patient.allergies == []
    assert patient.last_checkup_on is None
    assert patient == patients[2]


# ---------------------------------------------------------------------------
# Insurer number check digit


@pytest.mark.parametrize(("first_seven", "check"), [("0101001", "6"), ("0113001", "2"), ("0000000", "0")])
def test_insurer_number_check_digit(first_seven: str, check: str) -> None:
    assert insurer_number_check_digit(first_seven) == check


def test_insurer_number_check_digit_rejects() -> None:
    with pytest.raises(ValueError):
        insurer_number_check_digit("010100")
