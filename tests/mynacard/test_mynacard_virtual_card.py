"""Tests of the virtual card in-process: every status word, PIN persistence, reset and the command log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.virtual.card import DEFAULT_ATR, VirtualCard, pkcs1_v15_sign
from mynacard.virtual.files import Application, BinaryFile, PinFile, pad_with_filler, token_record

SELECT_JPKI = "00A4040C0AD392F000260100000001"
SELECT_TEXT_AP = "00A4040C0AD3921000310001010408"
SELECT_VISUAL_AP = "00A4040C0AD3921000310001010402"
LOG_FIELDS = {"time", "cla", "ins", "p1", "p2", "ap", "ef", "target", "sw"}


def verify_command(pin: str) -> str:
    return "0020008004" + pin.encode().hex().upper()


@pytest.fixture
def protected_card() -> VirtualCard:
    """A card with one test AP holding a PIN-protected file, so that no number file is needed."""
    application = Application(
        "test",
        bytes.fromhex("F000000001"),
        {0x0001: BinaryFile(b"secret data", pin_fid=0x0002), 0x0002: PinFile(b"1357")},
    )
    return VirtualCard([application])


def send(card: VirtualCard, hex_apdu: str) -> str:
    return card.transmit(bytes.fromhex(hex_apdu)).hex().upper()


# Status words -------------------------------------------------------------------


def test_atr_default(card: VirtualCard) -> None:
    assert card.atr == DEFAULT_ATR == bytes.fromhex("3BE000FF8131FE4514")


def test_select_jpki_9000(apdu: Callable[[str], str]) -> None:
    assert apdu(SELECT_JPKI) == "9000"


@pytest.mark.parametrize("ap", [SELECT_TEXT_AP, SELECT_VISUAL_AP])
def test_select_face_aps_9000(apdu: Callable[[str], str], ap: str) -> None:
    assert apdu(ap) == "9000"


def test_select_unknown_aid_6a82(apdu: Callable[[str], str]) -> None:
    assert apdu("00A4040C07A0000000031010") == "6A82"


def test_select_mf_power_on_6a86(apdu: Callable[[str], str]) -> None:
    assert apdu("00A40000") == "6A86"


def test_select_mf_with_df_9000(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)

    assert apdu("00A40000") == "9000"


def test_select_3f00_6a82(apdu: Callable[[str], str]) -> None:
    assert apdu("00A4000C023F00") == "6A82"


def test_select_aid_p2_00_6a86(apdu: Callable[[str], str]) -> None:
    assert apdu("00A404000AD392F000260100000001") == "6A86"


def test_select_ef_p1_09_6a86(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)

    assert apdu("00A4090C02000A") == "6A86"


def test_select_missing_ef_6a82(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)

    assert apdu("00A4020C020009") == "6A82", "the virtual card has no EF 0009"


def test_select_ef_without_df_6a82(apdu: Callable[[str], str]) -> None:
    assert apdu("00A4020C02000A") == "6A82"


def test_read_token_exact(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020006")

    response = apdu("00B0000000")

    assert response == token_record("JPKIAPICCTOKEN2").hex().upper() + "9000"
    assert bytes.fromhex(response[:-4]) == b"JPKIAPICCTOKEN2" + b" " * 17


def test_read_returns_remaining_bytes(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020006")

    assert apdu("00B0001E10") == "20209000", "2 bytes remain at offset 30 of the 32-byte token file"


def test_read_offset_at_end_6b00(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020006")

    assert apdu("00B0002001") == "6B00"


def test_read_sfi_form_6a86(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)

    assert apdu("00B08A0004") == "6A86"


def test_read_15_bit_offset(apdu: Callable[[str], str], card_dir: Path) -> None:
    certificate = (card_dir / "auth_cert.der").read_bytes()
    apdu(SELECT_JPKI)
    apdu("00A4020C02000A")

    response = apdu("00B0010004")

    assert bytes.fromhex(response[:-4]) == certificate[0x100:0x104]
    assert response[-4:] == "9000"


def test_read_without_ef_6986(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)

    assert apdu("00B0000004") == "6986"


def test_read_pin_ef_6986(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")

    assert apdu("00B0000004") == "6986"


def test_read_protected_6982(protected_card: VirtualCard) -> None:
    send(protected_card, "00A4040C05F000000001")
    send(protected_card, "00A4020C020001")

    assert send(protected_card, "00B0000004") == "6982"


def test_read_protected_after_verify(protected_card: VirtualCard) -> None:
    send(protected_card, "00A4040C05F000000001")
    send(protected_card, "00A4020C020002")
    assert send(protected_card, verify_command("1357")) == "9000"
    send(protected_card, "00A4020C020001")

    assert send(protected_card, "00B0000006") == b"secret".hex().upper() + "9000"


def test_read_without_le_6700(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020006")

    assert apdu("00B00000") == "6700"


def test_extended_length_6700(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C02000A")

    assert apdu("00B00000000400") == "6700"


@pytest.mark.parametrize("command", ["00A4", "00A4040C05D392", "00A4020C0300"])
def test_malformed_length_6700(apdu: Callable[[str], str], command: str) -> None:
    assert apdu(command) == "6700"


def test_unknown_ins_6d00(apdu: Callable[[str], str]) -> None:
    assert apdu("00CA004500") == "6D00"


def test_sign_with_iso_class_6d00(apdu: Callable[[str], str]) -> None:
    assert apdu("002A0080020102") == "6D00"


@pytest.mark.parametrize("cla", ["A0", "10", "0C"])
def test_unsupported_class_6e00(apdu: Callable[[str], str], cla: str) -> None:
    assert apdu(cla + "A4040C0AD392F000260100000001") == "6E00"


@pytest.mark.parametrize("cla", ["01", "02", "03", "81"])
def test_logical_channel_6881(apdu: Callable[[str], str], cla: str) -> None:
    assert apdu(cla + "A4040C0AD392F000260100000001") == "6881"


def test_verify_empty_63c3(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")

    assert apdu("00200080") == "63C3"
    assert apdu("00200080") == "63C3", "the retry query must not use a try"


def test_verify_wrong_then_blocked(apdu: Callable[[str], str], card: VirtualCard) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")

    answers = [apdu(verify_command("0000")) for _ in range(3)]

    assert answers == ["63C2", "63C1", "63C0"]
    assert apdu(verify_command("0000")) == "6984"
    assert apdu("00200080") == "63C0"
    assert card.tries_left("jpki", 0x0018) == 0


def test_verify_right_9000(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")

    assert apdu(verify_command(pin)) == "9000"
    assert apdu("00200080") == "63C3", "a real card reports tries, not the login state"


def test_verify_right_blocked_6984(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    for _ in range(3):
        apdu(verify_command("0000"))

    assert apdu(verify_command(pin)) == "6984"


def test_verify_without_pin_ef_6986(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C02000A")

    assert apdu(verify_command(pin)) == "6986"


def test_verify_bad_p2_6a86(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")

    assert apdu("0020009804" + pin.encode().hex()) == "6A86"


def test_sign_without_verify_6982(apdu: Callable[[str], str]) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020017")

    assert apdu("802A00800401020304" + "00") == "6982"


def test_sign_after_verify_signature(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))
    apdu("00A4020C020017")

    response = apdu("802A00800401020304" + "00")

    assert response.endswith("9000")
    assert len(response) == 2 * 256 + 4


def test_sign_bad_p1_6a86(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))
    apdu("00A4020C020017")

    assert apdu("802A01800401020304" + "00") == "6A86"


def test_sign_oversized_digest_info_6700(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))
    apdu("00A4020C020017")

    assert apdu("802A0080F6" + "00" * 246 + "00") == "6700"


def test_pkcs1_padding_matches_cryptography(card_dir: Path) -> None:
    key = serialization.load_pem_private_key((card_dir / "auth_key.pem").read_bytes(), password=None)
    digest_info = bytes.fromhex("3031300D060960864801650304020105000420") + bytes(32)

    ours = pkcs1_v15_sign(key, digest_info)  # type: ignore[arg-type]

    reference = key.sign(bytes(32), padding.PKCS1v15(), Prehashed(hashes.SHA256()))  # type: ignore[union-attr]
    assert ours == reference


# Reset and selection state ------------------------------------------------------


def test_reselect_clears_security_status(apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))
    apdu(SELECT_JPKI)
    apdu("00A4020C020017")

    assert apdu("802A00800401020304" + "00") == "6982"


def test_reset_clears_selection(apdu: Callable[[str], str], card: VirtualCard, pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))

    card.reset()

    assert apdu("00A40000") == "6A86", "no DF is selected after reset"
    assert apdu("00B0000004") == "6986"
    apdu(SELECT_JPKI)
    apdu("00A4020C020017")
    assert apdu("802A00800401020304" + "00") == "6982"


# PIN counter persistence ---------------------------------------------------------


def test_pin_counter_survives_reload(card_dir: Path, pin: str) -> None:
    first = VirtualCard.from_dir(card_dir)
    send(first, SELECT_JPKI)
    send(first, "00A4020C020018")
    send(first, verify_command("0000"))

    second = VirtualCard.from_dir(card_dir)
    send(second, SELECT_JPKI)
    send(second, "00A4020C020018")

    assert send(second, "00200080") == "63C2"
    assert json.loads((card_dir / "state.json").read_text())["pin_tries"]["jpki/0018"] == 2


def test_pin_block_survives_reload(card_dir: Path, pin: str) -> None:
    first = VirtualCard.from_dir(card_dir)
    send(first, SELECT_JPKI)
    send(first, "00A4020C020018")
    for _ in range(3):
        send(first, verify_command("0000"))

    second = VirtualCard.from_dir(card_dir)
    send(second, SELECT_JPKI)
    send(second, "00A4020C020018")

    assert send(second, verify_command(pin)) == "6984"


def test_pin_reset_survives_reload(card_dir: Path, pin: str) -> None:
    first = VirtualCard.from_dir(card_dir)
    send(first, SELECT_JPKI)
    send(first, "00A4020C020018")
    send(first, verify_command("0000"))
    send(first, verify_command(pin))

    second = VirtualCard.from_dir(card_dir)

    assert second.tries_left("jpki", 0x0018) == 3


def test_pin_counters_independent(card_dir: Path) -> None:
    card = VirtualCard.from_dir(card_dir)
    send(card, SELECT_JPKI)
    send(card, "00A4020C020018")
    send(card, verify_command("0000"))

    assert card.tries_left("jpki", 0x0018) == 2
    assert card.tries_left("text", 0x0011) == 3


# Files ---------------------------------------------------------------------------


def test_pad_with_filler_sizes() -> None:
    assert pad_with_filler(b"\x30\x00", 4) == b"\x30\x00\xff\xff"
    assert len(pad_with_filler(b"\x00" * 2049, 2048)) == 2304


def test_from_dir_missing_file(card_dir: Path) -> None:
    (card_dir / "auth_key.pem").unlink()

    with pytest.raises(FileNotFoundError, match="auth_key.pem"):
        VirtualCard.from_dir(card_dir)


# Command log ---------------------------------------------------------------------


def test_command_log_fields(card_dir: Path, card: VirtualCard, apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))

    lines = (card_dir / "commands.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]

    assert entries == card.command_log
    assert [set(entry) for entry in entries] == [LOG_FIELDS] * 3
    assert entries[0]["target"] == "D392F000260100000001"
    assert entries[1] == entries[1] | {"ap": "jpki", "ef": "0018", "target": "0018", "sw": "9000"}
    assert entries[2] == entries[2] | {"ins": "20", "p1": "00", "p2": "80", "target": None, "sw": "9000"}


def test_command_log_never_has_pin(card_dir: Path, apdu: Callable[[str], str], pin: str) -> None:
    apdu(SELECT_JPKI)
    apdu("00A4020C020018")
    apdu(verify_command(pin))
    apdu(verify_command("0000"))

    for line in (card_dir / "commands.log").read_text().splitlines():
        entry = json.loads(line)
        entry.pop("time")
        assert pin not in json.dumps(entry)
        assert pin.encode().hex() not in json.dumps(entry).lower()


def test_command_log_malformed_apdu(card: VirtualCard) -> None:
    send(card, "00")

    assert card.command_log[-1]["sw"] == "6700"


def test_state_file_invalid(card_dir: Path) -> None:
    (card_dir / "state.json").write_text("[1, 2]")

    with pytest.raises(ValueError, match="state.json"):
        VirtualCard.from_dir(card_dir)
