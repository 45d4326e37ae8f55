"""Messages staff read are Japanese: no hub status codes, English reasons or wrong field names."""

from __future__ import annotations

import re

from flask import Flask

from hospital_portal.inbox import hub_message
from hub.client import HubError
from tests.hospital_portal.conftest import Account, page_csrf, sign_in
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, HubUnderTest

RAW_STATUS = re.compile(r"\b(accepted|declined|viewed|delivered|handed_over|arrived)\b")


def test_double_accept_has_no_raw_status(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0]
    client = portal.test_client()
    sign_in(client, accounts["nurse"])
    path = f"/transfers/{sent.transfer_id}/answer"
    client.post(path, data={"decision": "accepted", "csrf_token": page_csrf(client)})
    response = client.post(path, data={"decision": "accepted", "csrf_token": page_csrf(client)})
    error = re.search(r'id="form-error">([^<]*)<', response.get_data(as_text=True)).group(1)

    assert not RAW_STATUS.search(error), error


def test_double_accept_names_current_state(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0]
    client = portal.test_client()
    sign_in(client, accounts["nurse"])
    path = f"/transfers/{sent.transfer_id}/answer"
    client.post(path, data={"decision": "accepted", "csrf_token": page_csrf(client)})
    response = client.post(path, data={"decision": "accepted", "csrf_token": page_csrf(client)})

    assert "現在「受入可」" in response.get_data(as_text=True)


def test_long_team_names_team(portal: Flask, hub: HubUnderTest, accounts: dict[str, Account]) -> None:
    sent = hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0]
    client = portal.test_client()
    sign_in(client, accounts["clerk"])
    response = client.post(f"/transfers/{sent.transfer_id}/notes", data={"team": "班" * 201, "csrf_token": page_csrf(client)})

    assert "呼出チームは 200 文字以内" in response.get_data(as_text=True)


def test_english_hub_reason_replaced() -> None:
    error = HubError(400, "invalid_request", "送信内容に誤りがあります: status must be one of viewed, accepted")

    assert not re.search(r"[A-Za-z]{2,}", hub_message(error))


def test_unknown_code_with_english_replaced() -> None:
    error = HubError(500, "server_error", "Internal Server Error")

    assert not re.search(r"[A-Za-z]{2,}", hub_message(error))


def test_japanese_hub_message_kept() -> None:
    error = HubError(0, "unreachable", "ハブに接続できません。")

    assert hub_message(error) == "ハブに接続できません。"
