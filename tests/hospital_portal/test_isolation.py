"""No hospital sees another hospital's packets: through the portal and straight against the hub."""

from __future__ import annotations

import pytest
from flask import Flask

from hub.client import HubClient, HubError
from hub.contract import TransferOutcome
from tests.hospital_portal.conftest import Account, page_csrf, sign_in
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, OTHER_HOSPITAL_CODE, HubUnderTest, portal_config


@pytest.fixture()
def other_hospital_transfer(hub: HubUnderTest) -> str:
    """A packet addressed only to the other hospital (H-2)."""
    return hub.send(sample_packet(hospital_codes=[OTHER_HOSPITAL_CODE]))[0].transfer_id


@pytest.fixture()
def other_portal(hub: HubUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The other hospital's own portal, with its own token and database."""
    from hospital_portal.app import create_app

    folder = tmp_path_factory.mktemp("other-portal")
    return create_app(portal_config(hub, folder, HUB_TOKEN=hub.other_hospital_token, HOSPITAL_CODE=OTHER_HOSPITAL_CODE, HOSPITAL_NAME="別の病院"))


def test_feed_omits_other_hospital(portal: Flask, accounts: dict[str, Account], other_hospital_transfer: str) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    ids = [row["transfer_id"] for row in client.get("/inbox/feed").get_json()["transfers"]]

    assert other_hospital_transfer not in ids


def test_api_inbox_closed_by_default(hub, tmp_path) -> None:
    from hospital_portal.app import create_app
    from tests.hospital_portal.servers import portal_config

    config = portal_config(hub, tmp_path)
    del config["API_LOOPBACK_OPEN"]

    assert create_app(config).test_client().get("/api/inbox").status_code == 401


def test_api_inbox_omits_other_hospital(portal: Flask, accounts: dict[str, Account], other_hospital_transfer: str) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    transfers = client.get("/api/inbox").get_json()["transfers"]

    assert other_hospital_transfer not in [item["transfer_id"] for item in transfers]
    assert all(item["hospital_code"] == HOSPITAL_CODE for item in transfers)


@pytest.mark.parametrize("suffix", ["", "/handover.pdf", "/fhir.json"])
def test_portal_pages_404_for_other(portal: Flask, accounts: dict[str, Account], other_hospital_transfer: str, suffix: str) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    response = client.get(f"/transfers/{other_hospital_transfer}{suffix}")

    assert response.status_code == 404
    assert "救急 花子" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "data"), [
    ("answer", {"decision": "accepted"}),
    ("arrival", {"status": "handed_over"}),
    ("notes", {"team": "侵入テスト"}),
    ("outcome", {"diagnosis": "侵入テスト", "severity": "mild"}),
])
def test_portal_posts_404_for_other(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account],
                                    other_hospital_transfer: str, path: str, data: dict[str, str]) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    response = client.post(f"/transfers/{other_hospital_transfer}/{path}", data={**data, "csrf_token": page_csrf(client)})
    crew = next(view for view in hub.device().sent_transfers() if view.transfer_id == other_hospital_transfer)

    assert response.status_code == 404
    assert crew.status == "sent"
    assert crew.outcome is None


def test_other_portal_cannot_see_ours(hub: HubUnderTest, other_portal: Flask) -> None:
    ours = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0].transfer_id
    transfers = other_portal.test_client().get("/api/inbox").get_json()["transfers"]

    assert ours not in [item["transfer_id"] for item in transfers]


def test_hub_inbox_with_other_token(hub: HubUnderTest) -> None:
    ours = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0].transfer_id
    views = HubClient(hub.url, hub.other_hospital_token).inbox()

    assert ours not in [view.transfer_id for view in views]


@pytest.mark.parametrize("status", ["viewed", "accepted", "declined"])
def test_hub_status_with_other_token(hub: HubUnderTest, status: str) -> None:
    ours = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0].transfer_id
    intruder = HubClient(hub.url, hub.other_hospital_token)

    with pytest.raises(HubError) as raised:
        intruder.update_transfer_status(ours, status, "beds_full" if status == "declined" else None)

    assert raised.value.status == 404


def test_hub_outcome_with_other_token(hub: HubUnderTest) -> None:
    ours = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0].transfer_id
    intruder = HubClient(hub.url, hub.other_hospital_token)

    with pytest.raises(HubError) as raised:
        intruder.record_outcome(ours, TransferOutcome("侵入テスト", "mild", "2025-01-01T00:00:00+00:00"))

    assert raised.value.status == 404


def test_hub_fhir_with_other_token(hub: HubUnderTest) -> None:
    ours = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0].transfer_id
    intruder = HubClient(hub.url, hub.other_hospital_token)
    with pytest.raises(HubError) as raised:
        intruder.transfer_fhir(ours)

    assert raised.value.status == 404


def test_hub_inbox_with_device_token(hub: HubUnderTest) -> None:
    with pytest.raises(HubError) as raised:
        HubClient(hub.url, hub.device_token).inbox()

    assert raised.value.status == 403
