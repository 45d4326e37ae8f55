"""PIN consent: the card signs a hub challenge; replays and forgeries are refused."""

from __future__ import annotations

import base64
import hashlib

from hub.contract import DECLINE_REASONS
from mynacard.apdu import ApduProtocol
from mynacard.jpki import JpkiSession, sha256_digest_info
from mynacard.transport import VirtualConnection
from mynacard.virtual.card import VirtualCard

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, auth, certificate_b64
from .test_api import packet, request_summary


def card_signature(card_dir, challenge: bytes, pin: str = "1234") -> str:
    card = VirtualCard.from_dir(card_dir)
    session = JpkiSession(ApduProtocol(VirtualConnection(card)))
    session.ensure_my_number_card()
    session.verify_auth_pin(pin)
    signature = session.sign_with_auth_key(sha256_digest_info(hashlib.sha256(challenge).digest()))
    return base64.b64encode(signature).decode("ascii")


def pin_body(card, challenge_id: str, signature_b64: str) -> dict:
    return {
        "certificate_der_b64": certificate_b64(card),
        "consent_mode": "pin",
        "incident_id": "INC-1",
        "challenge_id": challenge_id,
        "signature_b64": signature_b64,
    }


def new_challenge(client) -> dict:
    response = client.post("/api/v1/challenges", headers=auth(DEVICE_TOKEN))
    assert response.status_code == 201
    return response.json


def test_pin_consent_releases_summary(client, issued_card) -> None:
    challenge = new_challenge(client)
    signature = card_signature(issued_card.card_dir, base64.b64decode(challenge["challenge_b64"]))

    response = client.post("/api/v1/summaries", json=pin_body(issued_card, challenge["challenge_id"], signature), headers=auth(DEVICE_TOKEN))

    assert response.status_code == 200
    assert response.json["consent_mode"] == "pin"


def test_pin_challenge_single_use(client, issued_card) -> None:
    challenge = new_challenge(client)
    signature = card_signature(issued_card.card_dir, base64.b64decode(challenge["challenge_b64"]))
    body = pin_body(issued_card, challenge["challenge_id"], signature)

    first = client.post("/api/v1/summaries", json=body, headers=auth(DEVICE_TOKEN))
    replay = client.post("/api/v1/summaries", json=body, headers=auth(DEVICE_TOKEN))

    assert first.status_code == 200
    assert replay.status_code == 403
    assert replay.json["code"] == "invalid_challenge"


def test_pin_signature_over_other_challenge(client, issued_card) -> None:
    challenge = new_challenge(client)
    signature = card_signature(issued_card.card_dir, b"some other challenge")

    response = client.post("/api/v1/summaries", json=pin_body(issued_card, challenge["challenge_id"], signature), headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403
    assert response.json["code"] == "invalid_pin_signature"


def test_decline_needs_fdma_reason(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))
    transfer_id = client.get("/api/v1/transfers", headers=auth(HOSPITAL_TOKEN)).json["transfers"][0]["transfer_id"]

    missing = client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "declined"}, headers=auth(HOSPITAL_TOKEN))
    declined = client.post(
        f"/api/v1/transfers/{transfer_id}/status", json={"status": "declined", "reason": "beds_full"}, headers=auth(HOSPITAL_TOKEN)
    )

    assert missing.status_code == 400
    assert declined.json["status_reason"] == "beds_full"
    assert DECLINE_REASONS[declined.json["status_reason"]] == "ベッド満床"


def test_sender_sees_answer_and_outcome(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))
    transfer_id = client.get("/api/v1/transfers", headers=auth(HOSPITAL_TOKEN)).json["transfers"][0]["transfer_id"]
    client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "accepted"}, headers=auth(HOSPITAL_TOKEN))
    outcome = {"diagnosis": "急性心筋梗塞", "severity": "severe", "recorded_at": "2026-12-04T11:00:00+00:00"}
    client.post(f"/api/v1/transfers/{transfer_id}/outcome", json=outcome, headers=auth(HOSPITAL_TOKEN))

    sent = client.get("/api/v1/transfers/sent", query_string={"incident_id": "INC-1"}, headers=auth(DEVICE_TOKEN)).json["transfers"]

    assert sent[0]["status"] == "accepted"
    assert sent[0]["outcome"]["severity"] == "severe"
    assert sent[0]["hospital_name"] == "試験病院"


def test_incident_report_replaced_on_resend(client) -> None:
    report = {"incident_id": "INC-9", "unit_name": "試験救急隊", "reported_at": "2026-12-04T12:00:00+00:00", "times": {"call_received": "2026-12-04T10:00:00+00:00"}}

    first = client.post("/api/v1/incident-reports", json=report, headers=auth(DEVICE_TOKEN))
    second = client.post("/api/v1/incident-reports", json={**report, "jcs": "10"}, headers=auth(DEVICE_TOKEN))

    assert first.status_code == 201
    assert second.status_code == 200


def test_incident_report_rejects_unknown_time_key(client) -> None:
    report = {"incident_id": "INC-9", "unit_name": "隊", "reported_at": "2026-12-04T12:00:00+00:00", "times": {"lunch": None}}
    response = client.post("/api/v1/incident-reports", json=report, headers=auth(DEVICE_TOKEN))
    assert response.status_code == 400
