"""Additions the field unit asked for: summary request ids, procedures and
interactions in the summary, hospital details, and GCS/pupils/severity vitals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from hub import api
from hub.contract import ContractError, HospitalInfo, Summary, SummaryRequest, TransferPacket, Vitals
from hub.documents.fhir import summary_bundle
from hub.models import AuditEvent, ClinicalItem, ConsentGrant, Medication, Organization, Patient, db
from hub.prescription_checks import DEFAULT_RULES_FILE, CurrentDrug, interactions_between, load_rules
from hub.seed import seed_organizations
from hub.public_data import HospitalRecord

from .conftest import DEVICE_TOKEN, auth, certificate_b64
from .test_api import request_summary


def test_request_id_repeat_returns_same_grant(client, app, issued_card) -> None:
    first = request_summary(client, issued_card, request_id="REQ-1")
    second = request_summary(client, issued_card, request_id="REQ-1")

    assert second.status_code == 200
    assert second.json["grant_id"] == first.json["grant_id"]
    with app.app_context():
        assert db.session.query(ConsentGrant).count() == 1


def test_request_id_repeat_same_summary(client, issued_card) -> None:
    first = request_summary(client, issued_card, request_id="REQ-1").json
    second = request_summary(client, issued_card, request_id="REQ-1").json

    first.pop("generated_at")
    second.pop("generated_at")
    assert second == first


def test_request_id_repeat_audited_as_redelivery(client, app, issued_card) -> None:
    request_summary(client, issued_card, request_id="REQ-1")
    request_summary(client, issued_card, request_id="REQ-1")

    with app.app_context():
        details = [row.detail for row in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert len(details) == 2
    assert "redelivery" not in details[0]
    assert details[1]["redelivery"] is True
    assert details[1]["request_id"] == "REQ-1"


def test_request_id_new_key_new_grant(client, issued_card) -> None:
    first = request_summary(client, issued_card, request_id="REQ-1")
    second = request_summary(client, issued_card, request_id="REQ-2")

    assert second.json["grant_id"] != first.json["grant_id"]


def test_request_id_reused_for_other_incident(client, issued_card) -> None:
    request_summary(client, issued_card, request_id="REQ-1")
    body = {"certificate_der_b64": certificate_b64(issued_card), "consent_mode": "verbal", "incident_id": "INC-OTHER",
            "request_id": "REQ-1"}
    response = client.post("/api/v1/summaries", json=body, headers=auth(DEVICE_TOKEN))

    assert response.status_code == 409
    assert response.json["code"] == "request_id_reused"


def test_request_id_repeat_of_revoked_grant(client, app, issued_card) -> None:
    request_summary(client, issued_card, request_id="REQ-1")
    with app.app_context():
        grant = db.session.execute(db.select(ConsentGrant)).scalar_one()
        grant.revoked_at = datetime.now(timezone.utc)
        db.session.commit()

    response = request_summary(client, issued_card, request_id="REQ-1")

    assert response.status_code == 403
    assert response.json["code"] == "grant_not_valid"


def test_request_id_too_long_rejected() -> None:
    with pytest.raises(ContractError, match="request_id"):
        SummaryRequest.from_dict({"certificate_der_b64": "AA==", "consent_mode": "verbal", "incident_id": "I",
                                  "request_id": "x" * 65})


def _add_records(app, *rows) -> None:
    with app.app_context():
        patient_id = db.session.execute(db.select(Patient.id)).scalar_one()
        for row in rows:
            row.patient_id = patient_id
            db.session.add(row)
        db.session.commit()


def test_summary_procedures_within_three_months(client, app, issued_card) -> None:
    today = datetime.now(timezone.utc).date()
    _add_records(
        app,
        ClinicalItem(category="procedure", name="創傷処置", recorded_on=today - timedelta(days=30)),
        ClinicalItem(category="procedure", name="古い処置", recorded_on=today - timedelta(days=200)),
    )

    names = [item["name"] for item in request_summary(client, issued_card).json["procedures"]]

    assert names == ["創傷処置"]


def test_summary_lists_contraindicated_pair(client, app, issued_card) -> None:
    today = datetime.now(timezone.utc).date()
    _add_records(app, Medication(drug_code="629000XXX001", drug_name="フロリードゲル経口用2%", ingredient="ミコナゾール",
                                 dispensed_on=today - timedelta(days=3), days=7, dose="1日4回", hospital_name="歯科医院",
                                 source="claims"))

    interactions = request_summary(client, issued_card).json["interactions"]

    assert [item["kind"] for item in interactions] == ["併用禁忌"]
    assert {interactions[0]["drug_a"], interactions[0]["drug_b"]} == {"ワーファリン錠1mg", "フロリードゲル経口用2%"}
    assert "添付文書" in interactions[0]["source"]


def test_summary_no_interactions_by_default(client, issued_card) -> None:
    assert request_summary(client, issued_card).json["interactions"] == []


def test_duplicate_needs_two_institutions() -> None:
    same = CurrentDrug("A錠", "成分X", "内服", "病院1")
    refill = CurrentDrug("A錠", "成分X", "内服", "病院1")
    elsewhere = CurrentDrug("B錠", "成分X", "内服", "病院2")

    assert interactions_between([same, refill], ()) == []
    assert [item.kind for item in interactions_between([same, elsewhere], ())] == ["重複投薬"]


def test_duplicate_ignores_other_route() -> None:
    oral = CurrentDrug("A錠", "成分X", "内服", "病院1")
    topical = CurrentDrug("Aクリーム", "成分X", "外用", "病院2")

    assert interactions_between([oral, topical], ()) == []


def test_interaction_pair_listed_once() -> None:
    rules = load_rules(str(DEFAULT_RULES_FILE))
    warfarin = CurrentDrug("ワーファリン錠1mg", "ワルファリンカリウム", "内服", "病院1")
    gel = CurrentDrug("フロリードゲル", "ミコナゾール", "口腔", "病院2")

    assert len(interactions_between([warfarin, gel, gel], rules)) == 1


def test_fhir_bundle_has_alert_flags() -> None:
    interaction = {"kind": "併用禁忌", "drug_a": "ワーファリン錠1mg", "drug_b": "フロリードゲル", "source": "添付文書"}
    summary = Summary.from_dict(_minimal_summary(interactions=[interaction]))

    bundle = summary_bundle(summary)

    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    flags = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Flag"]
    assert len(flags) == 1
    assert "併用禁忌" in flags[0]["code"]["text"]


def test_fhir_bundle_lists_procedures() -> None:
    summary = Summary.from_dict(_minimal_summary(procedures=[{"name": "創傷処置", "date": "2026-11-01"}]))

    bundle = summary_bundle(summary)

    procedures = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Procedure"]
    assert [resource["code"]["text"] for resource in procedures] == ["創傷処置"]


def _minimal_summary(**extra) -> dict:
    return {
        "grant_id": "G-1", "grant_expires_at": "2026-12-04T11:00:00+00:00", "consent_mode": "verbal",
        "generated_at": "2026-12-04T10:00:00+00:00", "insurance": None,
        "patient": {"family_name": "試験", "given_name": "花子", "family_kana": "シケン", "given_kana": "ハナコ",
                    "birth_date": "1950-04-01", "sex": "2", "address": "北海道"},
        **extra,
    }


def test_summary_without_new_fields_parses() -> None:
    summary = Summary.from_dict(_minimal_summary())

    assert summary.procedures == []
    assert summary.interactions == []


@pytest.mark.parametrize("field, value", [("gcs_e", 0), ("gcs_e", 5), ("gcs_v", 6), ("gcs_m", 7), ("gcs_m", True)])
def test_vitals_gcs_out_of_range(field, value) -> None:
    with pytest.raises(ContractError, match=field):
        Vitals.from_dict({"measured_at": "2026-12-04T10:00:00+00:00", field: value})


def test_vitals_gcs_and_severity_accepted() -> None:
    vitals = Vitals.from_dict({"measured_at": "2026-12-04T10:00:00+00:00", "gcs_e": 4, "gcs_v": 5, "gcs_m": 6,
                               "pupils": "左右 3mm 対光反射あり", "estimated_severity": "moderate"})

    assert (vitals.gcs_e, vitals.gcs_v, vitals.gcs_m) == (4, 5, 6)
    assert vitals.to_dict()["estimated_severity"] == "moderate"


def test_fhir_vitals_text_shows_gcs() -> None:
    vitals = {"measured_at": "2026-12-04T10:00:00+00:00", "gcs_e": 3, "gcs_v": 4, "gcs_m": 6, "estimated_severity": "severe"}
    packet = TransferPacket.from_dict({"packet_id": "P-1", "incident_id": "INC-1", "hospital_codes": ["H-1"],
                                       "sent_at": "2026-12-04T10:00:00+00:00", "unit_name": "試験救急隊",
                                       "chief_complaint": "意識障害", "vitals": [vitals]})

    bundle = summary_bundle(Summary.from_dict(_minimal_summary()), packet)

    composition = bundle["entry"][0]["resource"]
    vitals_section = next(section for section in composition["section"] if section["title"] == "バイタルサイン")
    assert "GCS E3V4M6" in vitals_section["text"]["div"]
    assert "重症(長期入院)" in vitals_section["text"]["div"]


def test_vitals_unknown_severity_rejected() -> None:
    with pytest.raises(ContractError, match="estimated_severity"):
        Vitals.from_dict({"measured_at": "2026-12-04T10:00:00+00:00", "estimated_severity": "critical"})


def test_hospital_info_without_details_parses() -> None:
    info = HospitalInfo.from_dict({"code": "H", "name": "病院", "address": "", "latitude": None, "longitude": None,
                                   "emergency_designated": True})

    assert info.departments == []
    assert info.beds is None
    assert info.stroke_care is False


def _hospital_record(code: str, **extra) -> HospitalRecord:
    base = {"code": code, "name": "脳外科病院", "address": "札幌市", "latitude": 43.0, "longitude": 141.3,
            "emergency_designated": True, "departments": ("脳神経外科", "内科"), "beds": 120, "acute_stroke_care": True}
    return HospitalRecord(**{**base, **extra})


def test_hospitals_endpoint_serves_details(client, app) -> None:
    with app.app_context():
        seed_organizations([_hospital_record("HKD0001")], [])

    hospitals = {row["code"]: row for row in client.get("/api/v1/hospitals", headers=auth(DEVICE_TOKEN)).json["hospitals"]}

    assert hospitals["HKD0001"]["departments"] == ["脳神経外科", "内科"]
    assert hospitals["HKD0001"]["beds"] == 120
    assert hospitals["HKD0001"]["stroke_care"] is True
    assert HospitalInfo.from_dict(hospitals["H-1"]).departments == []


def test_seed_refreshes_stored_hospital(app) -> None:
    with app.app_context():
        seed_organizations([_hospital_record("HKD0001", beds=None, acute_stroke_care=False)], [])
        seed_organizations([_hospital_record("HKD0001", beds=80)], [])
        row = db.session.execute(db.select(Organization).where(Organization.code == "HKD0001")).scalar_one()

        assert row.beds == 80
        assert row.stroke_care is True


def test_request_id_race_becomes_redelivery(client, app, issued_card, monkeypatch) -> None:
    first = request_summary(client, issued_card, request_id="REQ-1")
    real_find_subject = api.find_subject
    calls = []

    def find_without_earlier_grant(*args):
        # The first lookup misses the grant, as a concurrent request that had not yet committed would.
        calls.append(args)
        row = real_find_subject(*args)
        return SimpleNamespace(**{**row._asdict(), "earlier_grant_id": None}) if len(calls) == 1 else row

    monkeypatch.setattr(api, "find_subject", find_without_earlier_grant)
    second = request_summary(client, issued_card, request_id="REQ-1")

    assert second.status_code == 200
    assert second.json["grant_id"] == first.json["grant_id"]
    with app.app_context():
        assert db.session.query(ConsentGrant).count() == 1
