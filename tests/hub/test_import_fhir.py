"""FHIR imports on the real JP-CLINS and IPS example files (read unchanged; variants only in memory)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hub.importers.fhir_import import ResourceError, check_resource, import_fhir_files
from hub.models import ClinicalItem, Medication, Patient, db


@pytest.fixture(scope="module")
def fhir_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "fhir").glob("*/*.json"))


def load(shared_data: Path, name: str) -> dict:
    folder = "ips" if name.startswith("Bundle-IPS") or name.startswith("Bundle-bundle") else "jp-clins"
    return json.loads((shared_data / "fhir" / folder / name).read_text(encoding="utf-8"))


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_examples_import_except_error_examples(app, fhir_files):
    with app.app_context():
        report = import_fhir_files(fhir_files)
        rejected_files = sorted(row.source for row in report.rejected)

        assert rejected_files == [
            "MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json",
            "Observation-ErrorExample-ObsLabo-eGFR.json",
        ]
        assert report.inserted > 0


def test_error_example_medication_reason(app, fhir_files):
    with app.app_context():
        report = import_fhir_files(fhir_files)
        reasons = {row.source: row.reason for row in report.rejected}

        assert "YJ コード" in reasons["MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json"]
        assert "ローカルコード" in reasons["Observation-ErrorExample-ObsLabo-eGFR.json"]


def test_examples_rerun_adds_nothing(app, fhir_files):
    with app.app_context():
        import_fhir_files(fhir_files)
        medications = db.session.execute(db.select(db.func.count()).select_from(Medication)).scalar_one()
        second = import_fhir_files(fhir_files)

        assert second.inserted == 0
        assert db.session.execute(db.select(db.func.count()).select_from(Medication)).scalar_one() == medications


def test_jp_clins_patient_keyed_by_member_id(app, fhir_files):
    with app.app_context():
        import_fhir_files(fhir_files)
        patient = db.session.execute(
            db.select(Patient).where(Patient.import_key == "insured:00012345:あいう:187:05")
        ).scalar_one()

        assert patient.family_name == "牧野"
        assert patient.family_kana == "マキノ"


def test_medication_request_reads_days_and_route(app, shared_data, tmp_path):
    with app.app_context():
        files = [shared_data / "fhir/jp-clins/Patient-Example-JP-Patient-eCS-MAKINO.json",
                 shared_data / "fhir/jp-clins/MedicationRequest-Example-JP-MedReq-PO-SID-28days.json"]
        import_fhir_files(files)
        medication = db.session.execute(db.select(Medication).where(Medication.source == "fhir")).scalar_one()

        assert medication.days == 28
        assert medication.route == "内服"


def test_ips_no_known_allergy_not_stored(app, shared_data):
    with app.app_context():
        import_fhir_files([shared_data / "fhir/ips/Bundle-IPS-examples-Bundle-01.json"])
        allergies = list(db.session.execute(
            db.select(ClinicalItem.name).where(ClinicalItem.category == "allergy", ClinicalItem.import_key.is_not(None))
        ).scalars())

        assert len(allergies) == 1
        assert "penicillin" in allergies[0]


def test_single_resource_without_patient_rejected(app, shared_data):
    with app.app_context():
        report = import_fhir_files([shared_data / "fhir/jp-clins/Condition-Example-JP-Condition-eCS-Fx.json"])

        assert "Patient/Example-JP-Patient-eCS-MAKINO" in report.rejected[0].reason


def test_variant_without_yj_code_rejected(shared_data):
    resource = load(shared_data, "MedicationRequest-Example-JP-MedReq-PO-BID-2d.json")
    variant = copy.deepcopy(resource)
    variant["medicationCodeableConcept"]["coding"] = [
        coding for coding in variant["medicationCodeableConcept"]["coding"] if "YJ-code" not in coding["system"]
    ]

    check_resource(resource)
    with pytest.raises(ResourceError, match="YJ"):
        check_resource(variant)


def test_variant_without_subject_rejected(shared_data):
    variant = load(shared_data, "MedicationRequest-Example-JP-MedReq-PO-BID-2d.json")
    del variant["subject"]

    with pytest.raises(ResourceError, match="subject"):
        check_resource(variant)


def test_variant_dangling_contained_reference(shared_data):
    variant = load(shared_data, "MedicationRequest-Example-JP-MedReq-PO-BID-2d.json")
    variant["contained"] = []

    with pytest.raises(ResourceError, match="contained"):
        check_resource(variant)


def test_document_without_composition_first_rejected(app, shared_data, tmp_path):
    bundle = load(shared_data, "Bundle-bundle-minimal.json")
    bundle["entry"] = bundle["entry"][1:]
    path = write_json(tmp_path / "bundle.json", bundle)
    with app.app_context():
        report = import_fhir_files([path])

        assert report.rejected[0].location == "Bundle"
        assert "Composition" in report.rejected[0].reason


def test_bad_entry_rejected_others_kept(app, shared_data, tmp_path):
    bundle = load(shared_data, "Bundle-bundle-minimal.json")
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Condition":
            del entry["resource"]["code"]
    path = write_json(tmp_path / "bundle.json", bundle)
    with app.app_context():
        report = import_fhir_files([path])

        assert [row.location.split()[1].split("/")[0] for row in report.rejected] == ["Condition"]
        assert db.session.execute(db.select(Medication).where(Medication.source == "fhir")).scalars().first() is not None


def test_not_json_rejected(app, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with app.app_context():
        report = import_fhir_files([path])

        assert report.rejected[0].location == "ファイル"
