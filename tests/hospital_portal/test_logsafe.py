"""Request data in log lines: control characters are escaped, so no forged lines."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from hospital_portal.logsafe import escape_control, portal_logger
from tests.hospital_portal.conftest import Account, sign_in


def test_escape_newline() -> None:
    assert escape_control("x\nFAKE") == "x\\nFAKE"


def test_escape_nul_and_cr() -> None:
    assert escape_control("a\r\x00b") == "a\\r\\x00b"


def test_escape_line_separator() -> None:
    assert escape_control("a\u2028b") == "a\\u2028b"


def test_japanese_kept() -> None:
    assert escape_control("受信箱 搬送") == "受信箱 搬送"


def test_logger_escapes_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = portal_logger("hospital_portal.test_logsafe")
    with caplog.at_level(logging.INFO, logger="hospital_portal"):
        logger.warning("transfer %s", "x\n2026-01-01 INFO forged")

    assert "\n" not in caplog.records[-1].getMessage()


def test_path_newline_not_in_log(portal: Flask, accounts: dict[str, Account], caplog: pytest.LogCaptureFixture) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    with caplog.at_level(logging.INFO, logger="hospital_portal"):
        client.get("/transfers/x%0aFORGED%0d%00line")

    messages = [record.getMessage() for record in caplog.records if "FORGED" in record.getMessage()]
    assert messages, "the unknown transfer id was not logged at all"
    assert not any(char in message for message in messages for char in "\n\r\x00")
