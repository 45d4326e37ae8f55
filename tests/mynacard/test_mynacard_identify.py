"""Tests of card identification: every ATR of the public ATR table, other cards, and the smartphone flow."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mynacard.apdu import ApduProtocol
from mynacard.atr import classify_other_card, is_contactless_atr
from mynacard.errors import (
    ANDROID_TOKEN,
    CARD_KIND_DRIVERS_LICENCE,
    CARD_KIND_HPKI,
    CARD_KIND_OTHER,
    CARD_KIND_RESIDENT_REGISTRY,
    MY_NUMBER_CARD_TOKEN,
    RESIDENT_REGISTRY_CARD_TOKEN,
    NotMyNumberCardError,
    SecurityStatusNotSatisfiedError,
)
from mynacard.faceaps import TextApSession
from mynacard.jpki import JpkiSession
from mynacard.transport import VirtualConnection
from mynacard.virtual.card import VirtualCard
from mynacard.virtual.files import Application, BinaryFile

DRIVERS_LICENCE_AID = bytes.fromhex("A0000002310100000000000000000000")


def atr_rows() -> list[dict[str, str]]:
    from tests.conftest import find_shared_data

    with (find_shared_data() / "jpki" / "atrs.csv").open(encoding="utf-8") as table:
        return list(csv.DictReader(table))


ROWS = atr_rows()
MY_NUMBER_ROWS = [row for row in ROWS if "NOT My Number" not in row["label_in_source"] and "JPKI" in row["label_in_source"]]
OTHER_ROWS = [row for row in ROWS if row not in MY_NUMBER_ROWS]


def atr_of(row: dict[str, str]) -> bytes:
    return bytes.fromhex(row["atr_hex"].replace(" ", ""))


def session_for(card: VirtualCard) -> JpkiSession:
    return JpkiSession(ApduProtocol(VirtualConnection(card)))


def card_without_jpki(atr: bytes) -> VirtualCard:
    """A card with one unrelated application, like a driver's licence or an HPKI card."""
    return VirtualCard([Application("other", DRIVERS_LICENCE_AID, {0x0001: BinaryFile(b"\x00" * 16)})], atr=atr)


def test_atr_table_loaded() -> None:
    assert len(MY_NUMBER_ROWS) >= 9
    assert len(OTHER_ROWS) >= 4


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["atr_hex"])
def test_contactless_atr_detected(row: dict[str, str]) -> None:
    assert is_contactless_atr(atr_of(row)) == row["interface"].startswith("contactless")


@pytest.mark.parametrize("row", MY_NUMBER_ROWS, ids=lambda row: row["atr_hex"])
def test_my_number_card_any_atr(card_dir: Path, row: dict[str, str]) -> None:
    card = VirtualCard.from_dir(card_dir, atr=atr_of(row))

    assert session_for(card).ensure_my_number_card() == MY_NUMBER_CARD_TOKEN


def test_my_number_card_unknown_atr(card_dir: Path) -> None:
    card = VirtualCard.from_dir(card_dir, atr=bytes.fromhex("3B80800101"))

    assert session_for(card).ensure_my_number_card() == MY_NUMBER_CARD_TOKEN


@pytest.mark.parametrize(
    ("atr", "kind", "words"),
    [
        ("3BF59100FF918171FE4000420001B3C175", CARD_KIND_DRIVERS_LICENCE, "運転免許証"),
        ("3B888001000000009181C100D8", CARD_KIND_DRIVERS_LICENCE, "運転免許証"),
        ("3BF41300008131FE45004E0000A2", CARD_KIND_HPKI, "HPKI"),
        ("3B80800101", CARD_KIND_OTHER, "マイナンバーカードではありません"),
    ],
)
def test_other_card_named(atr: str, kind: str, words: str) -> None:
    with pytest.raises(NotMyNumberCardError) as caught:
        session_for(card_without_jpki(bytes.fromhex(atr))).ensure_my_number_card()

    assert caught.value.token is None
    assert caught.value.card_kind == kind
    assert words in caught.value.user_message


def test_juki_card_by_token(card_dir: Path) -> None:
    card = VirtualCard.from_dir(card_dir, token=RESIDENT_REGISTRY_CARD_TOKEN, atr=bytes.fromhex("3B888001000014E0B38191005E"))

    with pytest.raises(NotMyNumberCardError) as caught:
        session_for(card).ensure_my_number_card()

    assert caught.value.token == RESIDENT_REGISTRY_CARD_TOKEN
    assert "住民基本台帳カード" in caught.value.user_message


def test_juki_atr_without_jpki() -> None:
    with pytest.raises(NotMyNumberCardError) as caught:
        session_for(card_without_jpki(bytes.fromhex("3B888001000014E0B38191005E"))).ensure_my_number_card()

    assert caught.value.card_kind == CARD_KIND_RESIDENT_REGISTRY


def test_classify_without_atr() -> None:
    assert classify_other_card(None) is None


# Smartphone (スマホ用電子証明書) ---------------------------------------------------------


@pytest.fixture
def phone(card_dir: Path) -> VirtualCard:
    return VirtualCard.from_dir(card_dir, token=ANDROID_TOKEN, atr=bytes.fromhex("3B80800101"))


def test_phone_rejected_by_default(phone: VirtualCard) -> None:
    with pytest.raises(NotMyNumberCardError) as caught:
        session_for(phone).ensure_my_number_card()

    assert "スマートフォン" in caught.value.user_message


def test_phone_accepted_when_allowed(phone: VirtualCard) -> None:
    session = session_for(phone)

    assert session.ensure_jpki_token(allow_smartphone=True) == ANDROID_TOKEN
    assert session.is_smartphone is True


def test_phone_auth_cert_needs_pin(phone: VirtualCard) -> None:
    session = session_for(phone)
    session.ensure_jpki_token(allow_smartphone=True)

    with pytest.raises(SecurityStatusNotSatisfiedError) as caught:
        session.read_auth_certificate()

    assert "暗証番号の入力後" in caught.value.user_message


def test_phone_auth_cert_after_pin(phone: VirtualCard, card_dir: Path, pin: str) -> None:
    session = session_for(phone)
    session.ensure_jpki_token(allow_smartphone=True)

    der = session.read_auth_certificate_with_pin(pin)

    assert der == (card_dir / "auth_cert.der").read_bytes()


def test_phone_has_no_face_aps(phone: VirtualCard) -> None:
    with pytest.raises(NotMyNumberCardError):
        TextApSession(ApduProtocol(VirtualConnection(phone))).select()


def test_physical_card_auth_cert_free(card: VirtualCard) -> None:
    session = session_for(card)
    session.ensure_jpki_token(allow_smartphone=True)

    assert session.is_smartphone is False
    assert session.read_auth_certificate()[:2] == b"\x30\x82"
