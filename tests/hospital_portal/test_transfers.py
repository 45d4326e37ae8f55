"""The ER workflow through the portal against a real hub: inbox, answers, notes, arrival, outcome, documents."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from hub.contract import TransferView
from tests.hospital_portal.conftest import Account, page_csrf, sign_in
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, HOSPITAL_NAME, HubUnderTest


def send_one(hub: HubUnderTest, **packet_fields) -> TransferView:
    views = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE], **packet_fields))
    return views[0]


def crew_view(hub: HubUnderTest, transfer_id: str) -> TransferView:
    """Return the transfer as the crew reads it with /transfers/sent."""
    return next(view for view in hub.device().sent_transfers() if view.transfer_id == transfer_id)


def signed_in(portal: Flask, account: Account) -> FlaskClient:
    client = portal.test_client()
    sign_in(client, account)
    return client


def post(client: FlaskClient, path: str, data: dict[str, str]):
    return client.post(path, data={**data, "csrf_token": page_csrf(client)})


def test_feed_lists_new_packet(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub, chief_complaint="胸痛")
    rows = signed_in(portal, accounts["doctor"]).get("/inbox/feed").get_json()["transfers"]
    row = next(item for item in rows if item["transfer_id"] == sent.transfer_id)

    assert row["chief_complaint"] == "胸痛"
    assert row["department"] == "cardiology"
    assert row["patient"]["name"] == "救急 花子"
    assert row["eta_at"] is not None


def test_feed_marks_delivered(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    signed_in(portal, accounts["doctor"]).get("/inbox/feed")

    assert crew_view(hub, sent.transfer_id).status == "delivered"


def test_feed_hides_patient_from_clerk(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    rows = signed_in(portal, accounts["clerk"]).get("/inbox/feed").get_json()["transfers"]
    row = next(item for item in rows if item["transfer_id"] == sent.transfer_id)

    assert row["patient"] is None


def test_packet_page_shows_summary(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub, notes="階段から転落")
    html = signed_in(portal, accounts["doctor"]).get(f"/transfers/{sent.transfer_id}").get_data(as_text=True)

    assert "救急 花子" in html
    assert "ワルファリンK錠1mg" in html
    assert "階段から転落" in html
    assert "<polyline" in html


def test_opening_packet_marks_viewed(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    signed_in(portal, accounts["doctor"]).get(f"/transfers/{sent.transfer_id}")

    assert crew_view(hub, sent.transfer_id).status == "viewed"


def test_clerk_packet_page_hides_summary(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    html = signed_in(portal, accounts["clerk"]).get(f"/transfers/{sent.transfer_id}").get_data(as_text=True)

    assert "救急時閲覧権限がないため" in html
    assert "救急 花子" not in html


def test_accept_reaches_crew(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["nurse"])
    response = post(client, f"/transfers/{sent.transfer_id}/answer", {"decision": "accepted"})

    assert response.status_code == 302
    assert crew_view(hub, sent.transfer_id).status == "accepted"


def test_decline_reason_reaches_crew(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["doctor"])
    post(client, f"/transfers/{sent.transfer_id}/answer", {"decision": "declined", "reason": "beds_full"})
    crew = crew_view(hub, sent.transfer_id)

    assert crew.status == "declined"
    assert crew.status_reason == "beds_full"


def test_decline_without_reason_rejected(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = post(signed_in(portal, accounts["doctor"]), f"/transfers/{sent.transfer_id}/answer", {"decision": "declined"})

    assert response.status_code == 400
    assert "不可の理由を選んでください" in response.get_data(as_text=True)
    assert crew_view(hub, sent.transfer_id).status != "declined"


def test_clerk_cannot_answer(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = post(signed_in(portal, accounts["clerk"]), f"/transfers/{sent.transfer_id}/answer", {"decision": "accepted"})

    assert response.status_code == 403
    assert crew_view(hub, sent.transfer_id).status != "accepted"


def test_arrival_and_handover(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["nurse"])
    post(client, f"/transfers/{sent.transfer_id}/answer", {"decision": "accepted"})
    post(client, f"/transfers/{sent.transfer_id}/arrival", {"status": "arrived"})

    assert crew_view(hub, sent.transfer_id).status == "arrived"

    post(client, f"/transfers/{sent.transfer_id}/arrival", {"status": "handed_over"})

    assert crew_view(hub, sent.transfer_id).status == "handed_over"


def test_handover_before_accept_shows_hub_error(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = post(signed_in(portal, accounts["nurse"]), f"/transfers/{sent.transfer_id}/arrival", {"status": "handed_over"})

    assert response.status_code == 409
    assert "変更できません" in response.get_data(as_text=True)


def test_preparation_note_saved(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["clerk"])
    post(client, f"/transfers/{sent.transfer_id}/notes", {"department": "neurosurgery", "team": "脳卒中チーム", "text": "CT室確保"})
    html = client.get(f"/transfers/{sent.transfer_id}").get_data(as_text=True)
    row = next(item for item in client.get("/inbox/feed").get_json()["transfers"] if item["transfer_id"] == sent.transfer_id)

    assert "脳卒中チーム" in html
    assert "CT室確保" in html
    assert row["department"] == "neurosurgery"
    assert row["department_chosen"] is True


def test_empty_note_keeps_input(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = post(signed_in(portal, accounts["clerk"]), f"/transfers/{sent.transfer_id}/notes", {"department": "bogus", "team": "整形当直"})

    assert response.status_code == 400
    assert 'value="整形当直"' in response.get_data(as_text=True)


def test_outcome_reaches_hub(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["doctor"])
    post(client, f"/transfers/{sent.transfer_id}/answer", {"decision": "accepted"})
    response = post(client, f"/transfers/{sent.transfer_id}/outcome", {"diagnosis": "脳梗塞", "severity": "severe"})
    crew = crew_view(hub, sent.transfer_id)

    assert response.status_code == 302
    assert crew.outcome is not None
    assert crew.outcome.diagnosis == "脳梗塞"
    assert crew.outcome.severity == "severe"


def test_outcome_bad_severity_keeps_input(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    client = signed_in(portal, accounts["doctor"])
    post(client, f"/transfers/{sent.transfer_id}/answer", {"decision": "accepted"})
    response = post(client, f"/transfers/{sent.transfer_id}/outcome", {"diagnosis": "大腿骨骨折", "severity": "bogus"})

    assert response.status_code == 400
    assert 'value="大腿骨骨折"' in response.get_data(as_text=True)


def test_nurse_cannot_record_outcome(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = post(signed_in(portal, accounts["nurse"]), f"/transfers/{sent.transfer_id}/outcome", {"diagnosis": "x", "severity": "mild"})

    assert response.status_code == 403


def test_handover_pdf_route(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = signed_in(portal, accounts["doctor"]).get(f"/transfers/{sent.transfer_id}/handover.pdf")
    reader = PdfReader(io.BytesIO(response.data))

    assert response.mimetype == "application/pdf"
    assert len(reader.pages) == 1
    assert HOSPITAL_NAME in reader.pages[0].extract_text()


def test_clerk_cannot_print_pdf(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = signed_in(portal, accounts["clerk"]).get(f"/transfers/{sent.transfer_id}/handover.pdf")

    assert response.status_code == 403


def test_api_inbox_open_to_loopback(portal: Flask, hub: HubUnderTest) -> None:
    sent = send_one(hub)
    response = portal.test_client().get("/api/inbox")
    ids = [item["transfer_id"] for item in response.get_json()["transfers"]]

    assert response.status_code == 200
    assert sent.transfer_id in ids


def test_api_inbox_closed_to_remote(portal: Flask) -> None:
    response = portal.test_client().get("/api/inbox", environ_overrides={"REMOTE_ADDR": "192.0.2.10"})

    assert response.status_code == 401


def test_hub_down_shows_error(hub: HubUnderTest, tmp_path) -> None:
    from hospital_portal.app import create_app
    from tests.hospital_portal.servers import free_port, portal_config

    portal = create_app(portal_config(hub, tmp_path, HUB_URL=f"http://127.0.0.1:{free_port()}"))
    response = portal.test_client().get("/api/inbox")

    assert response.status_code == 502
    assert "ハブに接続できません" in response.get_json()["error"]


def test_fhir_export_route(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = signed_in(portal, accounts["doctor"]).get(f"/transfers/{sent.transfer_id}/fhir.json")
    document = response.get_json(force=True)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert document["resourceType"] == "Bundle"
    assert document["type"] == "document"


def test_clerk_cannot_export_fhir(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = send_one(hub)
    response = signed_in(portal, accounts["clerk"]).get(f"/transfers/{sent.transfer_id}/fhir.json")

    assert response.status_code == 403
