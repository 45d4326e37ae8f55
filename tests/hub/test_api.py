"""The hub API through Flask's test client, on a real SQLite file."""

from __future__ import annotations

import base64
import uuid

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hub import audit
from hub.models import AuditEvent, ConsentGrant, db

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, OTHER_HOSPITAL_TOKEN, auth, certificate_b64


def summary_body(card, mode: str = "verbal", **extra) -> dict:
    return {"certificate_der_b64": certificate_b64(card), "consent_mode": mode, "incident_id": "INC-1", **extra}


def request_summary(client, card, **extra):
    return client.post("/api/v1/summaries", json=summary_body(card, **extra), headers=auth(DEVICE_TOKEN))


def packet(grant_id: str | None, summary: dict | None, codes: list[str] | None = None) -> dict:
    return {
        "packet_id": str(uuid.uuid4()),
        "incident_id": "INC-1",
        "hospital_codes": codes or ["H-1"],
        "sent_at": "2026-12-04T10:00:00+00:00",
        "unit_name": "試験救急隊",
        "chief_complaint": "胸痛",
        "grant_id": grant_id,
        "summary": summary,
    }


def test_summary_returns_windowed_medications(client, issued_card) -> None:
    response = request_summary(client, issued_card)

    assert response.status_code == 200
    names = [m["drug_name"] for m in response.json["medications"]]
    assert names == ["ワーファリン錠1mg"]


def test_summary_flags_anticoagulant(client, issued_card) -> None:
    medication = request_summary(client, issued_card).json["medications"][0]
    assert medication["high_risk"] == "抗凝固薬"


def test_summary_visits_within_three_months(client, issued_card) -> None:
    visits = request_summary(client, issued_card).json["visits"]
    assert len(visits) == 1


def test_summary_surgeries_within_five_years(client, issued_card) -> None:
    surgeries = request_summary(client, issued_card).json["surgeries"]
    assert [s["name"] for s in surgeries] == ["人工股関節置換術"]


def test_summary_writes_audit_row(client, app, issued_card) -> None:
    request_summary(client, issued_card)

    with app.app_context():
        events = db.session.execute(db.select(AuditEvent)).scalars().all()
        assert [e.action for e in events] == ["view_summary"]
        assert events[0].legal_basis == "consent_verbal"
        assert events[0].actor == "unit-1"


def test_emergency_grant_needs_review(client, app, issued_card) -> None:
    response = request_summary(client, issued_card, mode="emergency", emergency_reason="unconscious")

    assert response.status_code == 200
    with app.app_context():
        grant = db.session.get(ConsentGrant, response.json["grant_id"])
        assert grant.needs_review is True


def test_emergency_without_reason_rejected(client, issued_card) -> None:
    response = request_summary(client, issued_card, mode="emergency")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_unlinked_card_gets_own_problem(client, unlinked_card) -> None:
    response = request_summary(client, unlinked_card)

    assert response.status_code == 404
    assert response.json["code"] == "unlinked_card"
    assert "登録されていません" in response.json["detail"]


def test_foreign_certificate_rejected(client, shared_data) -> None:
    pem = (shared_data / "jpki" / "auth_ca_2023.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)

    body = {"certificate_der_b64": base64.b64encode(der).decode(), "consent_mode": "verbal", "incident_id": "INC-1"}
    response = client.post("/api/v1/summaries", json=body, headers=auth(DEVICE_TOKEN))

    assert response.status_code == 422
    assert response.json["code"] == "unknown_card"


def test_malformed_certificate_rejected(client) -> None:
    body = {"certificate_der_b64": "not base64!!", "consent_mode": "verbal", "incident_id": "INC-1"}
    response = client.post("/api/v1/summaries", json=body, headers=auth(DEVICE_TOKEN))

    assert response.status_code == 400
    assert response.json["code"] == "malformed_certificate"


def test_missing_token_unauthorized(client, issued_card) -> None:
    response = client.post("/api/v1/summaries", json=summary_body(issued_card))
    assert response.status_code == 401


def test_hospital_cannot_request_summary(client, issued_card) -> None:
    response = client.post("/api/v1/summaries", json=summary_body(issued_card), headers=auth(HOSPITAL_TOKEN))
    assert response.status_code == 403


def test_transfer_reaches_only_addressed_hospital(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    sent = client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))

    assert sent.status_code == 201
    mine = client.get("/api/v1/transfers", headers=auth(HOSPITAL_TOKEN)).json["transfers"]
    theirs = client.get("/api/v1/transfers", headers=auth(OTHER_HOSPITAL_TOKEN)).json["transfers"]
    assert len(mine) == 1
    assert mine[0]["packet"]["summary"]["medications"][0]["drug_name"] == "ワーファリン錠1mg"
    assert theirs == []


def test_transfer_is_idempotent(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    body = packet(summary["grant_id"], summary)

    first = client.post("/api/v1/transfers", json=body, headers=auth(DEVICE_TOKEN))
    second = client.post("/api/v1/transfers", json=body, headers=auth(DEVICE_TOKEN))

    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json["transfers"][0]["transfer_id"] == second.json["transfers"][0]["transfer_id"]


def test_transfer_without_grant_rejected(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    response = client.post("/api/v1/transfers", json=packet(None, summary), headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403
    assert response.json["code"] == "no_consent_grant"


def test_transfer_to_unknown_hospital_rejected(client) -> None:
    response = client.post("/api/v1/transfers", json=packet(None, None, ["NOPE"]), headers=auth(DEVICE_TOKEN))
    assert response.status_code == 422


def test_hospital_status_lifecycle(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))
    transfer_id = client.get("/api/v1/transfers", headers=auth(HOSPITAL_TOKEN)).json["transfers"][0]["transfer_id"]

    accepted = client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "accepted"}, headers=auth(HOSPITAL_TOKEN))
    invalid = client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "viewed"}, headers=auth(HOSPITAL_TOKEN))
    other = client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "accepted"}, headers=auth(OTHER_HOSPITAL_TOKEN))

    assert accepted.json["status"] == "accepted"
    assert invalid.status_code == 409
    assert other.status_code == 404


def test_audit_chain_detects_tampering(client, app, issued_card) -> None:
    for _ in range(3):
        request_summary(client, issued_card)

    with app.app_context():
        assert audit.first_broken_row() is None
        second = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id).offset(1).limit(1)).scalar_one()
        second.legal_basis = "tampered"
        db.session.commit()
        assert audit.first_broken_row() == second.id


def test_nul_in_path_rejected(client) -> None:
    response = client.post("/api/v1/transfers/a%00b/status", json={"status": "viewed"}, headers=auth(HOSPITAL_TOKEN))

    assert response.status_code == 400
    assert "NUL" in response.json["detail"]


def test_nul_in_body_rejected(client) -> None:
    response = client.post("/api/v1/incident-reports", json={"incident_id": "x\x00"}, headers=auth(DEVICE_TOKEN))
    assert response.status_code == 400


def test_audit_chain_survives_stale_cached_head(client, app, issued_card) -> None:
    request_summary(client, issued_card)
    with app.app_context():
        # Another process appending would leave this process's cached head stale.
        audit._known_heads[db.engine] = "f" * 64

    response = request_summary(client, issued_card)

    assert response.status_code == 200
    with app.app_context():
        assert db.session.query(AuditEvent).count() == 2
        assert audit.first_broken_row() is None
