"""Tests of the JPKI session: exact command bytes, status-word mapping and certificate reading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given
from hypothesis import strategies as st

from mynacard.apdu import ApduProtocol
from mynacard.devpki import IssuedCard
from mynacard.errors import (
    ApduError,
    CardDataError,
    FileNotFoundOnCardError,
    InvalidPinFormatError,
    NotMyNumberCardError,
    PinBlockedError,
    SecurityStatusNotSatisfiedError,
    WrongPinError,
)
from mynacard.jpki import JpkiSession, der_total_length, sha256_digest_info
from mynacard.transport import VirtualConnection
from mynacard.virtual.card import VirtualCard

SELECT_JPKI = "00A4040C0AD392F000260100000001"
SELECT_TOKEN = "00A4020C020006"
SELECT_AUTH_CERT = "00A4020C02000A"
SELECT_AUTH_CA_CERT = "00A4020C02000B"
SELECT_AUTH_KEY = "00A4020C020017"
SELECT_AUTH_PIN = "00A4020C020018"
READ_TOKEN = "00B0000020"
READ_DER_HEADER = "00B0000004"
EMPTY_VERIFY = "00200080"


def expected_certificate_reads(total: int) -> list[str]:
    """READ BINARY commands for a certificate of ``total`` bytes: the 4-byte header, then 256-byte chunks."""
    commands = [READ_DER_HEADER]
    offset = 4
    while offset < total:
        chunk = min(256, total - offset)
        commands.append(f"00B0{offset:04X}{chunk % 256:02X}")
        offset += chunk
    return commands


# Exact command bytes -----------------------------------------------------------


def test_select_bytes(session: JpkiSession, recording) -> None:
    session.select()

    assert recording.sent_hex == [SELECT_JPKI]


def test_ensure_my_number_card_bytes(session: JpkiSession, recording) -> None:
    token = session.ensure_my_number_card()

    assert token == "JPKIAPICCTOKEN2"
    assert recording.sent_hex == [SELECT_JPKI, SELECT_TOKEN, READ_TOKEN]


def test_read_auth_certificate_bytes(session: JpkiSession, recording, issued_template: IssuedCard) -> None:
    session.select()
    certificate = session.read_auth_certificate()

    total = len(issued_template.certificate_der)
    assert certificate == issued_template.certificate_der
    assert recording.sent_hex == [SELECT_JPKI, SELECT_AUTH_CERT, *expected_certificate_reads(total)]


def test_read_auth_ca_certificate_bytes(session: JpkiSession, recording, card_dir: Path) -> None:
    expected = (card_dir / "auth_ca_cert.der").read_bytes()

    session.select()
    certificate = session.read_auth_ca_certificate()

    assert certificate == expected
    assert recording.sent_hex == [SELECT_JPKI, SELECT_AUTH_CA_CERT, *expected_certificate_reads(len(expected))]


def test_auth_pin_tries_left_bytes(session: JpkiSession, recording) -> None:
    session.select()

    assert session.auth_pin_tries_left() == 3
    assert recording.sent_hex == [SELECT_JPKI, SELECT_AUTH_PIN, EMPTY_VERIFY]


def test_verify_auth_pin_bytes(session: JpkiSession, recording, pin: str) -> None:
    session.select()
    session.verify_auth_pin(pin)

    assert recording.sent_hex == [
        SELECT_JPKI,
        SELECT_AUTH_PIN,
        EMPTY_VERIFY,
        "0020008004" + pin.encode().hex().upper(),
    ]


def test_sign_with_auth_key_bytes(session: JpkiSession, recording, pin: str) -> None:
    digest_info = sha256_digest_info(hashlib.sha256(b"challenge").digest())

    session.select()
    session.verify_auth_pin(pin)
    session.sign_with_auth_key(digest_info)

    assert recording.sent_hex[-2:] == [SELECT_AUTH_KEY, "802A008033" + digest_info.hex().upper() + "00"]


# Status words mapped to domain errors ------------------------------------------


def test_select_missing_ap_not_my_number_card(scripted) -> None:
    session, connection = scripted((b"", 0x6A82))

    with pytest.raises(NotMyNumberCardError) as caught:
        session.select()

    assert caught.value.token is None
    assert isinstance(caught.value.__cause__, ApduError)
    assert connection.sent_hex == [SELECT_JPKI]


def test_select_other_error_stays_apdu_error(scripted) -> None:
    session, _connection = scripted((b"", 0x6E00))

    with pytest.raises(ApduError) as caught:
        session.select()

    assert caught.value.sw == 0x6E00


@pytest.mark.parametrize("token", ["JPKIAPICCTOKEN", "JPKIAPGPSETOKEN", "JPKIAPIOSTOKEN"])
def test_ensure_rejects_other_tokens(card_dir: Path, token: str) -> None:
    card = VirtualCard.from_dir(card_dir, token=token)
    session = JpkiSession(ApduProtocol(VirtualConnection(card)))

    with pytest.raises(NotMyNumberCardError) as caught:
        session.ensure_my_number_card()

    assert caught.value.token == token


def test_ensure_missing_token_file(scripted) -> None:
    session, _connection = scripted((b"", 0x9000), (b"", 0x6A82))

    with pytest.raises(NotMyNumberCardError) as caught:
        session.ensure_my_number_card()

    assert caught.value.token is None


def test_select_ef_not_found(scripted) -> None:
    session, _connection = scripted((b"", 0x6A82))

    with pytest.raises(FileNotFoundOnCardError) as caught:
        session.read_auth_certificate()

    assert caught.value.fid == 0x000A


def test_verify_wrong_pin_counts_down(session: JpkiSession, pin: str) -> None:
    wrong = "0000" if pin != "0000" else "1111"
    session.select()

    tries = []
    for _attempt in range(3):
        with pytest.raises(WrongPinError) as caught:
            session.verify_auth_pin(wrong, confirm_last_try=True)
        tries.append(caught.value.tries_left)

    assert tries == [2, 1, 0]
    with pytest.raises(PinBlockedError):
        session.verify_auth_pin(wrong, confirm_last_try=True)
    with pytest.raises(PinBlockedError):
        session.verify_auth_pin(pin, confirm_last_try=True)
    assert session.auth_pin_tries_left() == 0


def test_verify_right_pin_resets_counter(session: JpkiSession, pin: str) -> None:
    session.select()
    with pytest.raises(WrongPinError):
        session.verify_auth_pin("9999" if pin != "9999" else "8888")

    session.verify_auth_pin(pin)

    assert session.auth_pin_tries_left() == 3


@pytest.mark.parametrize("bad_pin", ["", "123", "12345", "12a4", "１２３４", " 123"])
def test_verify_invalid_pin_sends_nothing(session: JpkiSession, recording, bad_pin: str) -> None:
    session.select()

    with pytest.raises(InvalidPinFormatError):
        session.verify_auth_pin(bad_pin)

    assert recording.sent_hex == [SELECT_JPKI]


def test_tries_left_after_verified_9000(scripted) -> None:
    session, _connection = scripted((b"", 0x9000), (b"", 0x9000))

    assert session.auth_pin_tries_left() == 3


def test_tries_left_blocked_6984(scripted) -> None:
    session, _connection = scripted((b"", 0x9000), (b"", 0x6984))

    assert session.auth_pin_tries_left() == 0


def test_sign_without_pin_security_status(session: JpkiSession) -> None:
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError) as caught:
        session.sign_with_auth_key(sha256_digest_info(bytes(32)))

    assert caught.value.__cause__.sw == 0x6982  # type: ignore[union-attr]


def test_sign_after_reselect_needs_pin(session: JpkiSession, pin: str) -> None:
    session.select()
    session.verify_auth_pin(pin)
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError):
        session.sign_with_auth_key(sha256_digest_info(bytes(32)))


def test_sign_verifies_with_certificate(session: JpkiSession, pin: str, issued_template: IssuedCard) -> None:
    message = b"hub challenge 0123456789"
    session.select()
    session.verify_auth_pin(pin)

    signature = session.sign_with_auth_key(sha256_digest_info(hashlib.sha256(message).digest()))

    public_key = x509.load_der_x509_certificate(issued_template.certificate_der).public_key()
    assert len(signature) == 256
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]


@pytest.mark.parametrize("size", [0, 246])
def test_sign_rejects_digest_info_size(session: JpkiSession, size: int) -> None:
    with pytest.raises(ValueError):
        session.sign_with_auth_key(b"\x00" * size)


# Certificate reading and filler ------------------------------------------------


def test_certificate_filler_trimmed(card: VirtualCard, session: JpkiSession, issued_template: IssuedCard) -> None:
    session.select()
    certificate = session.read_auth_certificate()

    raw = card.transmit(bytes.fromhex(f"00B0{len(certificate):04X}10"))
    assert certificate == issued_template.certificate_der
    assert raw[:-2] == b"\xff" * 16, "the EF continues with FF filler after the DER"


def test_certificate_filler_in_header_chunk(scripted) -> None:
    certificate = bytes.fromhex("3003020101")
    session, connection = scripted(
        (b"", 0x9000),
        (certificate[:4], 0x9000),
        (certificate[4:] + b"\xff" * 10, 0x9000),
    )

    assert session.read_auth_certificate() == certificate
    assert connection.sent_hex == [SELECT_AUTH_CERT, READ_DER_HEADER, "00B0000401"]


def test_certificate_short_form_trimmed(scripted) -> None:
    session, _connection = scripted((b"", 0x9000), (bytes.fromhex("3000FFFF"), 0x9000))

    assert session.read_auth_certificate() == bytes.fromhex("3000")


def test_certificate_erased_file(scripted) -> None:
    session, _connection = scripted((b"", 0x9000), (b"\xff" * 4, 0x9000))

    with pytest.raises(CardDataError):
        session.read_auth_certificate()


def test_certificate_truncated_file(scripted) -> None:
    session, _connection = scripted(
        (b"", 0x9000),
        (bytes.fromhex("30820200"), 0x9000),
        (b"\x00" * 100, 0x9000),
    )

    with pytest.raises(CardDataError):
        session.read_auth_certificate()


def test_certificate_offset_past_end(scripted) -> None:
    session, _connection = scripted(
        (b"", 0x9000),
        (bytes.fromhex("30820200"), 0x9000),
        (b"", 0x6B00),
    )

    with pytest.raises(CardDataError) as caught:
        session.read_auth_certificate()

    assert caught.value.__cause__.sw == 0x6B00  # type: ignore[union-attr]


# DER length parsing ------------------------------------------------------------


def der_header(content_length: int) -> bytes:
    """Minimal DER SEQUENCE header for ``content_length`` bytes of content."""
    if content_length < 0x80:
        return bytes((0x30, content_length))
    if content_length <= 0xFF:
        return bytes((0x30, 0x81, content_length))
    return bytes((0x30, 0x82)) + content_length.to_bytes(2, "big")


@given(st.integers(min_value=0, max_value=0x7FFB), st.binary(min_size=0, max_size=4))
def test_der_total_length_header(content_length: int, trailing: bytes) -> None:
    header = der_header(content_length)

    assert der_total_length(header + trailing) == len(header) + content_length


@given(st.binary(max_size=8))
def test_der_total_length_garbage(data: bytes) -> None:
    try:
        total = der_total_length(data)
    except CardDataError:
        return
    assert total >= 2
    assert data[0] == 0x30


@pytest.mark.parametrize("header", ["3080", "3083010000", "3082", "3081", "0482012C", ""])
def test_der_total_length_rejects(header: str) -> None:
    with pytest.raises(CardDataError):
        der_total_length(bytes.fromhex(header))


def test_sha256_digest_info_shape() -> None:
    digest = bytes(range(32))

    assert sha256_digest_info(digest).hex().upper() == "3031300D060960864801650304020105000420" + digest.hex().upper()
    with pytest.raises(ValueError):
        sha256_digest_info(b"\x00" * 20)
