"""Transfers carry the hub's own summary, keep packet ids private and withdraw losers."""

from __future__ import annotations

from hub import seed
from hub.models import db

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, OTHER_HOSPITAL_TOKEN, auth
from .test_api import packet, request_summary

SECOND_DEVICE_TOKEN = "second-device-token-for-tests"


def send(client, body: dict, token: str = DEVICE_TOKEN):
    return client.post("/api/v1/transfers", json=body, headers=auth(token))


def inbox(client, token: str = HOSPITAL_TOKEN) -> list[dict]:
    return client.get("/api/v1/transfers", headers=auth(token)).json["transfers"]


def test_tampered_summary_replaced(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    forged = {**summary, "patient": {**summary["patient"], "family_name": "偽造"}, "allergies": [], "medications": []}

    assert send(client, packet(summary["grant_id"], forged)).status_code == 201

    received = inbox(client)[0]["packet"]["summary"]
    assert received["patient"]["family_name"] == "試験"
    assert [a["name"] for a in received["allergies"]] == ["ペニシリン"]
    assert received["medications"], "the hub's own medications replace the deleted list"


def test_grant_alone_attaches_summary(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    assert send(client, packet(summary["grant_id"], None)).status_code == 201

    assert inbox(client)[0]["packet"]["summary"]["patient"]["family_name"] == "試験"


def test_packet_id_of_other_device_refused(client, app, issued_card) -> None:
    with app.app_context():
        seed.seed_clients([seed.ClientSpec("unit-2", "device", "FD-1", SECOND_DEVICE_TOKEN)])
    summary = request_summary(client, issued_card).json
    body = packet(summary["grant_id"], summary)
    send(client, body)

    replay = send(client, {**body, "grant_id": None, "summary": None}, token=SECOND_DEVICE_TOKEN)

    assert replay.status_code == 409
    assert "transfers" not in replay.json
    assert "試験" not in replay.get_data(as_text=True)


def test_acceptance_withdraws_other_hospitals(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    send(client, packet(summary["grant_id"], summary, ["H-1", "H-2"]))
    mine = inbox(client)[0]
    inbox(client, OTHER_HOSPITAL_TOKEN)

    client.post(f"/api/v1/transfers/{mine['transfer_id']}/status", json={"status": "accepted"}, headers=auth(HOSPITAL_TOKEN))

    other = inbox(client, OTHER_HOSPITAL_TOKEN)[0]
    assert other["status"] == "withdrawn"
    assert other["packet"]["summary"] is None


def test_eta_out_of_range_rejected(client) -> None:
    response = send(client, {**packet(None, None), "eta_minutes": 9_999_999_999})

    assert response.status_code == 400
    assert response.json["detail"].startswith("送信内容に誤りがあります")
    assert "eta_minutes" in response.json["invalid_field"]


def test_boolean_eta_rejected(client) -> None:
    assert send(client, {**packet(None, None), "eta_minutes": True}).status_code == 400


def test_oversized_body_rejected(client) -> None:
    response = send(client, {**packet(None, None), "notes": "あ" * 600_000})
    assert response.status_code == 413


def test_deeply_nested_json_rejected(client) -> None:
    body = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/transfers", data=body, content_type="application/json", headers=auth(DEVICE_TOKEN))
    assert response.status_code == 400
