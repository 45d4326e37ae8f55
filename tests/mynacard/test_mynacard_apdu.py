"""Tests of APDU encoding, status-word helpers, the status check and log masking."""

from __future__ import annotations

import logging

import pytest

from mynacard.apdu import ApduProtocol, CommandApdu, StatusWord
from mynacard.errors import ApduError, CardDataError
from mynacard.status import status_word_name, verification_failed_sw, verification_tries_left
from mynacard.transport import VirtualConnection, mask_apdu, split_response
from mynacard.virtual.card import VirtualCard


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (CommandApdu(0x00, 0x20, 0x00, 0x80), "00200080"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=4), "00B0000004"),
        (CommandApdu(0x00, 0xB0, 0x01, 0x04, le=256), "00B0010400"),
        (CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("000A")), "00A4020C02000A"),
        (CommandApdu(0x80, 0x2A, 0x00, 0x80, b"\x01\x02", le=256), "802A008002010200"),
    ],
)
def test_command_apdu_encoding(command: CommandApdu, expected: str) -> None:
    assert command.to_bytes().hex().upper() == expected


@pytest.mark.parametrize(
    "arguments",
    [
        {"cla": 0x100, "ins": 0, "p1": 0, "p2": 0},
        {"cla": 0, "ins": -1, "p1": 0, "p2": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "data": b"\x00" * 256},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 257},
    ],
)
def test_command_apdu_rejects_invalid(arguments: dict) -> None:
    with pytest.raises(ValueError):
        CommandApdu(**arguments)


def test_command_apdu_max_data() -> None:
    encoded = CommandApdu(0x80, 0x2A, 0x00, 0x80, b"\xAA" * 255, le=256).to_bytes()

    assert encoded[4] == 0xFF
    assert len(encoded) == 4 + 1 + 255 + 1


def test_status_word_values() -> None:
    assert StatusWord.OK == 0x9000
    assert StatusWord.FILE_NOT_FOUND == 0x6A82
    assert StatusWord.INCORRECT_P1_P2 == 0x6A86
    assert StatusWord.SECURITY_STATUS_NOT_SATISFIED == 0x6982
    assert StatusWord.REFERENCE_DATA_NOT_USABLE == 0x6984
    assert StatusWord.WRONG_P1_P2 == 0x6B00
    assert StatusWord.WRONG_LENGTH == 0x6700
    assert StatusWord.INS_NOT_SUPPORTED == 0x6D00
    assert StatusWord.CLA_NOT_SUPPORTED == 0x6E00
    assert StatusWord.LOGICAL_CHANNEL_NOT_SUPPORTED == 0x6881


@pytest.mark.parametrize(("sw", "expected"), [(0x63C3, 3), (0x63C0, 0), (0x63CF, 15), (0x6300, None), (0x9000, None)])
def test_verification_tries_left(sw: int, expected: int | None) -> None:
    assert verification_tries_left(sw) == expected


def test_verification_failed_sw_round_trip() -> None:
    assert [verification_failed_sw(n) for n in (0, 2, 3)] == [0x63C0, 0x63C2, 0x63C3]
    with pytest.raises(ValueError):
        verification_failed_sw(16)


def test_status_word_name_unknown() -> None:
    assert status_word_name(0x6A82) == "FILE_NOT_FOUND"
    assert status_word_name(0x6F00) == "UNKNOWN"


def test_protocol_send_returns_data(card: VirtualCard) -> None:
    protocol = ApduProtocol(VirtualConnection(card))

    protocol.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("D392F000260100000001")))
    protocol.send(CommandApdu(0x00, 0xA4, 0x02, 0x0C, bytes.fromhex("0006")))

    assert protocol.send(CommandApdu(0x00, 0xB0, 0x00, 0x00, le=15)) == b"JPKIAPICCTOKEN2"


def test_protocol_send_raises_apdu_error(card: VirtualCard) -> None:
    protocol = ApduProtocol(VirtualConnection(card))

    with pytest.raises(ApduError) as caught:
        protocol.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A000000001")))

    assert caught.value.sw == 0x6A82
    assert caught.value.command == "SELECT"


def test_mask_apdu_hides_verify_data() -> None:
    masked = mask_apdu(bytes.fromhex("002000800431323334"))

    assert masked == "00 20 00 80 04 <4 bytes masked>"
    assert "31 32" not in masked


def test_mask_apdu_keeps_other_data() -> None:
    assert mask_apdu(bytes.fromhex("00A4020C02000A")) == "00 A4 02 0C 02 00 0A"


def test_transport_debug_log_masks_pin(card: VirtualCard, caplog: pytest.LogCaptureFixture, pin: str) -> None:
    connection = VirtualConnection(card)
    caplog.set_level(logging.DEBUG, logger="mynacard.transport")

    connection.transmit(bytes.fromhex("00A4040C0AD392F000260100000001"))
    connection.transmit(bytes.fromhex("00A4020C020018"))
    connection.transmit(bytes.fromhex("00200080") + bytes([4]) + pin.encode())

    assert "<4 bytes masked>" in caplog.text
    assert pin.encode().hex(" ").upper() not in caplog.text


def test_split_response_too_short() -> None:
    with pytest.raises(CardDataError):
        split_response(b"\x90")
