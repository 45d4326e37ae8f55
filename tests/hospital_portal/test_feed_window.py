"""The screen's feed: open packets plus closed ones from the last 24 hours, older ones on request."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Flask
from flask.testing import FlaskClient

from hospital_portal.inbox import on_screen
from hub.client import HubClient
from hub.contract import TransferView
from hub.models import Transfer, db
from tests.hospital_portal.conftest import Account, sign_in
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, HubUnderTest

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def view_with(status: str, hours_ago: float) -> TransferView:
    updated = (NOW - timedelta(hours=hours_ago)).isoformat()
    return TransferView("t-1", HOSPITAL_CODE, status, updated, sample_packet(hospital_codes=[HOSPITAL_CODE]))


def test_open_packet_always_shown() -> None:
    assert on_screen(view_with("viewed", 100), NOW, include_older=False)


def test_recent_handover_shown() -> None:
    assert on_screen(view_with("handed_over", 23), NOW, include_older=False)


def test_old_handover_hidden() -> None:
    assert not on_screen(view_with("handed_over", 25), NOW, include_older=False)


def test_old_withdrawn_hidden() -> None:
    assert not on_screen(view_with("withdrawn", 25), NOW, include_older=False)


def test_old_handover_on_request() -> None:
    assert on_screen(view_with("handed_over", 25), NOW, include_older=True)


def handed_over_long_ago(portal: Flask, hub: HubUnderTest) -> str:
    """Hand a packet over at the hub, then date its last change two days back."""
    sent = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0]
    client = HubClient(hub.url, hub.hospital_token)
    for status in ("accepted", "arrived", "handed_over"):
        client.update_transfer_status(sent.transfer_id, status)

    with hub.app.app_context():
        row = db.session.get(Transfer, sent.transfer_id)
        row.updated_at = datetime.now(timezone.utc) - timedelta(days=2)
        db.session.commit()

    return sent.transfer_id


def feed_ids(client: FlaskClient, query: str = "") -> set[str]:
    return {row["transfer_id"] for row in client.get("/inbox/feed" + query).get_json()["transfers"]}


def test_feed_leaves_out_old_handover(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    transfer_id = handed_over_long_ago(portal, hub)
    client = portal.test_client()
    sign_in(client, accounts["doctor"])

    assert transfer_id not in feed_ids(client)


def test_feed_older_on_request(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    transfer_id = handed_over_long_ago(portal, hub)
    client = portal.test_client()
    sign_in(client, accounts["doctor"])

    assert transfer_id in feed_ids(client, "?older=1")
