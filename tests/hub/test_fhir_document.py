"""The FHIR document Bundle: validated with fhir.resources, and served per transfer.

fhir.resources 8 models FHIR R5, R4B and STU3 but not R4. The tests use R4B because it
has R4's structure for every resource this Bundle contains (Bundle, Composition,
Patient, Coverage, Organization, MedicationStatement, AllergyIntolerance, Condition,
Procedure, Encounter, Observation). The 6.x line models R4 but needs pydantic 1.
"""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from hub.contract import InsuranceInfo, MedicationItem, NamedDateItem, PatientInfo, Summary, TransferPacket, Vitals, VisitItem
from hub.documents.fhir import INSURANCE_MEMBER_ID_SYSTEM, NAME_REPRESENTATION_URL, summary_bundle

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, OTHER_HOSPITAL_TOKEN, auth
from .test_api import packet, request_summary


def make_summary(**changes) -> Summary:
    summary = Summary(
        grant_id="grant-1",
        grant_expires_at="2026-12-04T12:00:00+00:00",
        consent_mode="verbal",
        generated_at="2026-12-04T10:00:00+00:00",
        patient=PatientInfo("試験", "花子", "シケン", "ハナコ", "1950-04-01", "2", "北海道札幌市"),
        insurance=InsuranceInfo("39011001", "北海道後期高齢者医療広域連合", "", "12345678", "0", "本人", 10, "2020-04-01",
                                limit_category="一般"),
        medications=[MedicationItem("333100XXX001", "ワーファリン錠1mg", "ワルファリンカリウム", "2026-11-20", 28,
                                    "1日1回 2錠", "claims", "試験病院", "抗凝固薬")],
        visits=[VisitItem("0110000001", "試験病院", "2026-11-20", "内科")],
        conditions=[NamedDateItem("心房細動", "2020-01-01")],
        allergies=[NamedDateItem("ペニシリン", None, "発疹")],
        surgeries=[NamedDateItem("人工股関節置換術", "2024-01-10", "試験病院")],
    )
    for key, value in changes.items():
        setattr(summary, key, value)
    return summary


def make_packet(summary: Summary) -> TransferPacket:
    vitals = Vitals("2026-12-04T10:05:00+00:00", jcs="II-10", systolic_bp=92, diastolic_bp=60, heart_rate=120, spo2=91,
                    body_temperature=36.4)
    return TransferPacket("packet-1", "INC-1", ["H-1"], "2026-12-04T10:10:00+00:00", "試験救急隊", "胸痛",
                          summary=summary, vitals=[vitals])


def resources(bundle: dict, kind: str) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def section_codes(bundle: dict) -> list[str]:
    composition = bundle["entry"][0]["resource"]
    return [section["code"]["coding"][0]["code"] for section in composition["section"]]


def test_bundle_validates_as_fhir() -> None:
    bundle = summary_bundle(make_summary(), make_packet(make_summary()))

    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_bundle_without_packet_validates() -> None:
    Bundle.model_validate(summary_bundle(make_summary(insurance=None, medications=[], allergies=[])))


def test_bundle_is_document_with_composition_first() -> None:
    bundle = summary_bundle(make_summary())

    assert bundle["type"] == "document"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"


def test_composition_has_ips_sections() -> None:
    codes = section_codes(summary_bundle(make_summary()))

    for code in ("10160-0", "48765-2", "11450-4", "47519-4"):
        assert code in codes


def test_vitals_section_only_with_packet() -> None:
    summary = make_summary()

    assert "8716-3" not in section_codes(summary_bundle(summary))
    assert "8716-3" in section_codes(summary_bundle(summary, make_packet(summary)))


def test_blood_pressure_has_components() -> None:
    summary = make_summary()
    observations = resources(summary_bundle(summary, make_packet(summary)), "Observation")
    pressure = [o for o in observations if o["code"].get("coding", [{}])[0].get("code") == "85354-9"]

    assert len(pressure) == 1
    assert [c["valueQuantity"]["value"] for c in pressure[0]["component"]] == [92, 60]


def test_empty_section_has_empty_reason() -> None:
    composition = summary_bundle(make_summary(allergies=[]))["entry"][0]["resource"]
    allergy_section = [s for s in composition["section"] if s["code"]["coding"][0]["code"] == "48765-2"][0]

    assert "entry" not in allergy_section
    assert allergy_section["emptyReason"]["coding"][0]["code"] == "unavailable"


def test_patient_has_kanji_and_kana_names() -> None:
    patient = resources(summary_bundle(make_summary()), "Patient")[0]
    by_representation = {name["extension"][0]["valueCode"]: name for name in patient["name"]}

    assert patient["name"][0]["extension"][0]["url"] == NAME_REPRESENTATION_URL
    assert by_representation["IDE"]["family"] == "試験"
    assert by_representation["SYL"]["given"] == ["ハナコ"]
    assert patient["gender"] == "female"


def test_coverage_member_identifier() -> None:
    coverage = resources(summary_bundle(make_summary()), "Coverage")[0]

    assert coverage["identifier"][0]["system"] == INSURANCE_MEMBER_ID_SYSTEM
    assert coverage["identifier"][0]["value"] == "39011001::12345678:00"
    assert coverage["class"][0]["value"] == "一般"


def test_references_resolve_inside_bundle() -> None:
    summary = make_summary()
    bundle = summary_bundle(summary, make_packet(summary))
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    composition = bundle["entry"][0]["resource"]
    references = [entry["reference"] for section in composition["section"] for entry in section.get("entry", [])]

    assert references
    assert set(references) <= full_urls
    assert composition["subject"]["reference"] in full_urls


def test_bundle_is_deterministic() -> None:
    assert summary_bundle(make_summary()) == summary_bundle(make_summary())


def test_narrative_escapes_markup() -> None:
    bundle = summary_bundle(make_summary(allergies=[NamedDateItem("<script>", None)]))
    composition = bundle["entry"][0]["resource"]

    assert "<script>" not in str(composition["section"])


def sent_transfer(client, issued_card) -> str:
    summary = request_summary(client, issued_card).json
    body = packet(summary["grant_id"], summary)
    body["vitals"] = [{"measured_at": "2026-12-04T10:05:00+00:00", "jcs": "I-1", "heart_rate": 88}]
    response = client.post("/api/v1/transfers", json=body, headers=auth(DEVICE_TOKEN))
    return response.json["transfers"][0]["transfer_id"]


def test_endpoint_serves_valid_bundle(client, issued_card) -> None:
    transfer_id = sent_transfer(client, issued_card)

    response = client.get(f"/api/v1/transfers/{transfer_id}/fhir", headers=auth(HOSPITAL_TOKEN))

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    Bundle.model_validate(response.json)


def test_endpoint_other_hospital_not_found(client, issued_card) -> None:
    transfer_id = sent_transfer(client, issued_card)

    response = client.get(f"/api/v1/transfers/{transfer_id}/fhir", headers=auth(OTHER_HOSPITAL_TOKEN))

    assert response.status_code == 404


def test_endpoint_device_forbidden(client, issued_card) -> None:
    transfer_id = sent_transfer(client, issued_card)

    response = client.get(f"/api/v1/transfers/{transfer_id}/fhir", headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403


def test_endpoint_writes_audit_row(client, app, issued_card) -> None:
    from hub.models import AuditEvent, db

    transfer_id = sent_transfer(client, issued_card)
    client.get(f"/api/v1/transfers/{transfer_id}/fhir", headers=auth(HOSPITAL_TOKEN))

    with app.app_context():
        actions = [event.action for event in db.session.execute(db.select(AuditEvent)).scalars()]
    assert actions[-1] == "view_transfer_fhir"
