"""A packet withdrawn because another hospital accepted: grey, no answer buttons, no patient data."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from hub.client import HubClient
from hub.contract import TransferView
from tests.hospital_portal.conftest import Account, sign_in
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, OTHER_HOSPITAL_CODE, HubUnderTest


def withdrawn_here(hub: HubUnderTest) -> TransferView:
    """Send one packet to both hospitals and let the other hospital accept it."""
    views = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE, OTHER_HOSPITAL_CODE]))
    mine = next(view for view in views if view.hospital_code == HOSPITAL_CODE)
    theirs = next(view for view in views if view.hospital_code == OTHER_HOSPITAL_CODE)
    HubClient(hub.url, hub.other_hospital_token).update_transfer_status(theirs.transfer_id, "accepted")
    return mine


def doctor(portal: Flask, account: Account) -> FlaskClient:
    client = portal.test_client()
    sign_in(client, account)
    return client


def test_feed_row_is_withdrawn(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    rows = doctor(portal, accounts["doctor"]).get("/inbox/feed").get_json()["transfers"]
    row = next(item for item in rows if item["transfer_id"] == mine.transfer_id)

    assert row["status_label"] == "取下げ(他院が受入れ)"


def test_feed_row_has_no_patient(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    rows = doctor(portal, accounts["doctor"]).get("/inbox/feed").get_json()["transfers"]
    row = next(item for item in rows if item["transfer_id"] == mine.transfer_id)

    assert row["patient"] is None


def test_page_has_no_answer_buttons(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    body = doctor(portal, accounts["doctor"]).get(f"/transfers/{mine.transfer_id}").get_data(as_text=True)

    assert 'id="accept"' not in body
    assert "取り下げられました" in body


def test_page_does_not_claim_accepted(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    body = doctor(portal, accounts["doctor"]).get(f"/transfers/{mine.transfer_id}").get_data(as_text=True)

    assert "受入れ可と回答済み" not in body


def test_page_has_no_patient(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    body = doctor(portal, accounts["doctor"]).get(f"/transfers/{mine.transfer_id}").get_data(as_text=True)

    assert "救急 花子" not in body


def test_pdf_refused(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    mine = withdrawn_here(hub)
    response = doctor(portal, accounts["doctor"]).get(f"/transfers/{mine.transfer_id}/handover.pdf")

    assert response.status_code == 410
