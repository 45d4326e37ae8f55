"""Tests of the card-face APs with 照合番号B: exact bytes, signatures, and forged, altered and cloned cards."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from pathlib import Path

import pytest

from mynacard import facedata, tlv
from mynacard.apdu import ApduProtocol
from mynacard.credentials import (
    era_year,
    printed_birth_date,
    validate_verification_number_b,
    verification_number_b,
)
from mynacard.devpki import DevRoot, build_card_face_issuer, generate_rsa_key
from mynacard.errors import (
    CardClonedError,
    CardFaceAlteredError,
    CardFaceForgedError,
    InvalidPinFormatError,
    LastPinTryError,
    SecurityStatusNotSatisfiedError,
    WrongPinError,
)
from mynacard.faceaps import TextApSession, VisualApSession, read_card_face
from mynacard.faceimages import jp2_to_png
from mynacard.facedata import CardCaKeys
from mynacard.persona import CardPersona
from mynacard.virtual.card import VirtualCard
from mynacard.virtual.files import BinaryFile, KeyFile

SELECT_TEXT_AP = "00A4040C0AD3921000310001010408"
SELECT_VISUAL_AP = "00A4040C0AD3921000310001010402"
EMPTY_VERIFY = "00200080"
NUMBER_FILES = {("text", "0001"), ("visual", "0005")}


@pytest.fixture
def number_b(card_dir: Path) -> str:
    persona = CardPersona.load(card_dir / "persona.json")
    assert persona.card_expiry is not None and persona.security_code is not None
    return verification_number_b(persona.birth_date, persona.card_expiry, persona.security_code)


@pytest.fixture
def ca_keys(dev_root: DevRoot) -> CardCaKeys:
    assert dev_root.trust_dir is not None
    return CardCaKeys.from_folder(dev_root.trust_dir)


def wrong_number(number_b: str) -> str:
    return number_b[:-4] + ("0000" if number_b[-4:] != "0000" else "1111")


def replace_file(card: VirtualCard, ap: str, fid: int, data: bytes) -> None:
    application = card.application(ap)
    file = application.files[fid]
    assert isinstance(file, BinaryFile)
    application.files[fid] = dataclasses.replace(file, data=data)


def file_data(card: VirtualCard, ap: str, fid: int) -> bytes:
    file = card.application(ap).files[fid]
    assert isinstance(file, BinaryFile)
    return file.data


# 照合番号B ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "printed"),
    [
        (date(1980, 2, 17), "550217"),
        (date(1989, 1, 7), "640107"),
        (date(1989, 1, 8), "010108"),
        (date(2019, 4, 30), "310430"),
        (date(2019, 5, 1), "010501"),
        (date(1926, 12, 24), "151224"),
    ],
)
def test_printed_birth_date_era(birth: date, printed: str) -> None:
    assert printed_birth_date(birth) == printed


def test_printed_birth_date_gregorian() -> None:
    assert printed_birth_date(date(1980, 2, 17), gregorian=True) == "800217"


def test_verification_number_b_layout() -> None:
    assert verification_number_b(date(1980, 2, 17), date(2035, 2, 17), "2285") == "55021720352285"


def test_era_year_first_year() -> None:
    assert era_year(date(2019, 5, 1)) == 1


@pytest.mark.parametrize("value", ["", "5502172035228", "550217203522851", "5502172035228A", "５５０２１７２０３５２２８５"])
def test_verification_number_b_rejected(value: str) -> None:
    with pytest.raises(InvalidPinFormatError):
        validate_verification_number_b(value)


def test_security_code_rejected() -> None:
    with pytest.raises(InvalidPinFormatError):
        verification_number_b(date(1980, 2, 17), date(2035, 2, 17), "22a5")


# Exact command bytes -------------------------------------------------------------------


def test_text_verify_bytes(recording, number_b: str) -> None:
    session = TextApSession(ApduProtocol(recording))
    session.select()
    session.verify_verification_number_b(number_b)

    assert recording.sent_hex == [
        SELECT_TEXT_AP,
        "00A4020C020015",
        EMPTY_VERIFY,
        "002000800E" + number_b.encode().hex().upper(),
    ]


def test_visual_verify_bytes(recording, number_b: str) -> None:
    session = VisualApSession(ApduProtocol(recording))
    session.select()
    session.verify_verification_number_b(number_b)

    assert recording.sent_hex == [
        SELECT_VISUAL_AP,
        "00A4020C020012",
        EMPTY_VERIFY,
        "002000800E" + number_b.encode().hex().upper(),
    ]


def test_read_record_bytes(recording, card: VirtualCard, number_b: str) -> None:
    session = TextApSession(ApduProtocol(recording))
    session.select()
    session.verify_verification_number_b(number_b)
    recording.sent.clear()

    record = session.read_record(0x0002)

    assert recording.sent_hex == ["00A4020C020002", "00B0000006", f"00B00006{len(record) - 6:02X}"]
    assert file_data(card, "text", 0x0002).startswith(record)


def test_internal_authenticate_bytes(recording) -> None:
    challenge = bytes(range(32))
    digest_info = facedata.sha256_digest_info(hashlib.sha256(challenge).digest())
    session = VisualApSession(ApduProtocol(recording))
    session.select()

    signature = session.internal_authenticate(challenge)

    assert len(signature) == 256
    assert recording.sent_hex[-1] == "802A000033" + digest_info.hex().upper() + "00"


def test_flow_never_selects_number(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    read_card_face(ApduProtocol(recording), number_b, ca_keys)
    selected = {(entry["ap"], entry["target"]) for entry in card.command_log if entry["ins"] == "A4"}

    assert not selected & NUMBER_FILES
    assert all(entry["target"] != "0014" and entry["target"] != "0013" for entry in card.command_log)


def test_flow_commands_log_no_secret(card_dir: Path, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    read_card_face(ApduProtocol(recording), number_b, ca_keys)

    assert number_b not in (card_dir / "commands.log").read_text()


# Reading and checking ---------------------------------------------------------------------


def test_read_card_face_values(recording, number_b: str, ca_keys: CardCaKeys) -> None:
    result = read_card_face(ApduProtocol(recording), number_b, ca_keys)

    assert result.basic_four.name == "黒桐\u3000幹也"
    assert result.basic_four.address == "東京都清瀬市観布子南１２－７－２０２"
    assert result.basic_four.birth_date == date(1980, 2, 17)
    assert result.basic_four.sex == "1"
    assert result.face.birth_date == date(1980, 2, 17)
    assert result.face.photo_jp2.startswith(b"\x00\x00\x00\x0cjP  ")
    assert result.issuer == "DEV13221/000"


def test_face_photo_to_png(recording, number_b: str, ca_keys: CardCaKeys) -> None:
    result = read_card_face(ApduProtocol(recording), number_b, ca_keys)

    assert jp2_to_png(result.face.photo_jp2).startswith(b"\x89PNG\r\n\x1a\n")


def test_basic_four_needs_number_b(recording) -> None:
    session = TextApSession(ApduProtocol(recording))
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError):
        session.read_record(0x0002)


def test_face_needs_number_b(recording) -> None:
    session = VisualApSession(ApduProtocol(recording))
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError):
        session.read_record(0x0002)


def test_cv_certificate_free(recording) -> None:
    session = VisualApSession(ApduProtocol(recording))
    session.select()

    certificate = facedata.parse_cv_certificate(session.read_cv_certificate())

    assert certificate.issuer == "DEV0023"


def test_number_b_opens_not_number(card: VirtualCard, number_b: str) -> None:
    session = VisualApSession(ApduProtocol(_connection(card)))
    session.select()
    session.verify_verification_number_b(number_b)

    assert card.transmit(bytes.fromhex("00A4020C020005")).hex().upper() == "9000"
    assert card.transmit(bytes.fromhex("00B0000001")).hex().upper() == "6982"


def test_wrong_number_b_counts(recording, card: VirtualCard, number_b: str, ca_keys: CardCaKeys) -> None:
    with pytest.raises(WrongPinError) as caught:
        read_card_face(ApduProtocol(recording), wrong_number(number_b), ca_keys)

    assert caught.value.tries_left == 2
    assert card.tries_left("text", 0x0015) == 2


def test_number_b_last_try_guard(recording, number_b: str, ca_keys: CardCaKeys) -> None:
    for _attempt in range(2):
        with pytest.raises(WrongPinError):
            read_card_face(ApduProtocol(recording), wrong_number(number_b), ca_keys)

    with pytest.raises(LastPinTryError):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_number_b_counter_persists(card_dir: Path, card: VirtualCard, number_b: str) -> None:
    session = TextApSession(ApduProtocol(_connection(card)))
    session.select()
    with pytest.raises(WrongPinError):
        session.verify_verification_number_b(wrong_number(number_b))

    assert VirtualCard.from_dir(card_dir).tries_left("text", 0x0015) == 2


# Forged, altered, cloned -----------------------------------------------------------------


def test_forged_unknown_ca_key(recording, number_b: str) -> None:
    other = build_card_face_issuer().pinned_keys()

    with pytest.raises(CardFaceForgedError):
        read_card_face(ApduProtocol(recording), number_b, other)


def test_forged_unpinned_key_id(recording, number_b: str, dev_root: DevRoot) -> None:
    assert dev_root.card_face is not None
    keys = CardCaKeys({facedata.key_id("6000023"): dev_root.card_face.ca_key.public_key()})

    with pytest.raises(CardFaceForgedError, match="not a pinned CA key"):
        read_card_face(ApduProtocol(recording), number_b, keys)


def test_forged_records_self_signed(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    """A forger who signs his own CV certificate under the pinned key ID still fails."""
    forger = generate_rsa_key()
    issuer_key_id = facedata.parse_cv_certificate(file_data(card, "visual", 0x0004)).issuer_key_id
    forged = facedata.build_cv_certificate(forger, issuer_key_id, forger.public_key(), facedata.key_id("X"))
    replace_file(card, "text", 0x0004, forged)

    with pytest.raises(CardFaceForgedError, match="does not verify"):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_altered_basic_four(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    original = file_data(card, "text", 0x0002)
    altered = original.replace("幹也".encode(), "次郎".encode())
    assert altered != original
    replace_file(card, "text", 0x0002, altered)

    with pytest.raises(CardFaceAlteredError, match="EF 0002"):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_altered_integrity_record(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    data = bytearray(file_data(card, "text", 0x0003))
    data[10] ^= 0x01  # inside the DF31 hash
    replace_file(card, "text", 0x0003, bytes(data))

    with pytest.raises(CardFaceAlteredError, match="EF 0003"):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_altered_face_photo(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    data = file_data(card, "visual", 0x0002)
    record = tlv.parse_record(data, facedata.TAG_FACE)
    photo = tlv.children_by_tag(record)[facedata.TAG_FACE_PHOTO]
    start = data.index(photo.encoded) + len(photo.encoded) - 10
    altered = data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1 :]
    replace_file(card, "visual", 0x0002, altered)

    with pytest.raises(CardFaceAlteredError, match="card face"):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_unsigned_expiry_not_detected(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    """DF29 lies outside the signature, as on real cards, so only 照合番号B vouches for the expiry year."""
    data = file_data(card, "visual", 0x0002)
    record = tlv.parse_record(data, facedata.TAG_FACE)
    expiry = tlv.children_by_tag(record)[facedata.TAG_FACE_EXPIRY]
    changed = tlv.encode(facedata.TAG_FACE_EXPIRY, b"20991231")
    replace_file(card, "visual", 0x0002, data.replace(expiry.encoded, changed))

    result = read_card_face(ApduProtocol(recording), number_b, ca_keys)

    assert result.face.expiry == date(2099, 12, 31)


def test_cloned_visual_chip(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    """Copied records on another chip: the chip's key differs from the key in the signed face."""
    card.application("visual").files[0x001A] = KeyFile(generate_rsa_key(), pin_fid=None)

    with pytest.raises(CardClonedError):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_cloned_text_chip(card: VirtualCard, recording, number_b: str, ca_keys: CardCaKeys) -> None:
    card.application("text").files[0x0013] = KeyFile(generate_rsa_key(), pin_fid=None)

    with pytest.raises(CardClonedError):
        read_card_face(ApduProtocol(recording), number_b, ca_keys)


def test_error_messages_japanese() -> None:
    assert "偽造" in CardFaceForgedError().user_message
    assert "改ざん" in CardFaceAlteredError().user_message
    assert "複製" in CardClonedError().user_message


def test_filler_after_records(card: VirtualCard) -> None:
    data = file_data(card, "text", 0x0002)
    record = tlv.parse_record(data, facedata.TAG_TEXT_BASIC_FOUR)

    assert len(data) > len(record.encoded)
    assert set(data[len(record.encoded) :]) == {0xFF}


def _connection(card: VirtualCard):
    from mynacard.transport import VirtualConnection

    return VirtualConnection(card)


# Record layout -------------------------------------------------------------------------------


def test_basic_four_offset_table() -> None:
    info = facedata.BasicFourInfo("黒桐\u3000幹也", "東京都清瀬市観布子南１２－７－２０２", date(1980, 2, 17), "1")
    data = facedata.build_basic_four(info)
    record = tlv.parse_record(data, facedata.TAG_TEXT_BASIC_FOUR)
    offsets_field, *fields = record.children()
    offsets = [int.from_bytes(offsets_field.value[i : i + 2], "big") for i in range(0, 8, 2)]

    assert data[:3].hex().upper() == "FF2065"
    assert offsets == [0x0E, 0x20, 0x59, 0x64]
    assert [data[offset : offset + 2].hex().upper() for offset in offsets] == ["DF22", "DF23", "DF24", "DF25"]
    assert [field.tag for field in fields] == [0xDF22, 0xDF23, 0xDF24, 0xDF25]


def test_face_offset_table(card: VirtualCard) -> None:
    data = file_data(card, "visual", 0x0002)
    record = tlv.parse_record(data, facedata.TAG_FACE)
    offsets_field = record.children()[0]
    offsets = [int.from_bytes(offsets_field.value[i : i + 2], "big") for i in range(0, 18, 2)]

    assert [data[offset : offset + 2].hex().upper() for offset in offsets] == [
        f"DF{tag:02X}" for tag in range(0x22, 0x2B)
    ]


def test_persona_optional_fields_roundtrip(card_dir: Path) -> None:
    persona = CardPersona.load(card_dir / "persona.json")

    assert CardPersona.from_json(persona.to_json()) == persona
    assert "security_code" not in repr(persona)
    assert "sign_password" not in repr(persona)
