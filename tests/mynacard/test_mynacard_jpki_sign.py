"""Tests of the signature certificate and password, GET CHALLENGE, the last-try guard and the latency model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mynacard.apdu import ApduProtocol
from mynacard.devpki import (
    DEV_SIGN_POLICY_OID,
    OID_SAN_ADDRESS,
    OID_SAN_BIRTH_DATE,
    OID_SAN_NAME,
    OID_SAN_SEX,
    SIGN_CERT_FILE,
)
from mynacard.errors import (
    InvalidPinFormatError,
    LastPinTryError,
    PinBlockedError,
    SecurityStatusNotSatisfiedError,
    WrongPinError,
)
from mynacard.jpki import JpkiSession, normalise_sign_password, sha256_digest_info
from mynacard.persona import CardPersona
from mynacard.transport import VirtualConnection
from mynacard.virtual.card import VirtualCard
from mynacard.virtual.latency import CONTACT, LatencyModel

SELECT_JPKI = "00A4040C0AD392F000260100000001"
SELECT_SIGN_CERT = "00A4020C020001"
SELECT_SIGN_CA_CERT = "00A4020C020002"
SELECT_SIGN_KEY = "00A4020C02001A"
SELECT_SIGN_PIN = "00A4020C02001B"
SELECT_AUTH_PIN = "00A4020C020018"
EMPTY_VERIFY = "00200080"


def sign_password(card_dir: Path) -> str:
    password = CardPersona.load(card_dir / "persona.json").sign_password
    assert password is not None
    return password


# Exact command bytes -----------------------------------------------------------


def test_sign_password_bytes(session: JpkiSession, recording, card_dir: Path) -> None:
    password = sign_password(card_dir)
    session.select()
    session.verify_sign_password(password.lower())

    assert recording.sent_hex == [
        SELECT_JPKI,
        SELECT_SIGN_PIN,
        EMPTY_VERIFY,
        f"00200080{len(password):02X}" + password.encode().hex().upper(),
    ]


def test_sign_password_tries_bytes(session: JpkiSession, recording) -> None:
    session.select()

    assert session.sign_password_tries_left() == 5
    assert recording.sent_hex == [SELECT_JPKI, SELECT_SIGN_PIN, EMPTY_VERIFY]


def test_sign_with_sign_key_bytes(session: JpkiSession, recording, card_dir: Path) -> None:
    digest_info = sha256_digest_info(hashlib.sha256(b"document").digest())
    session.select()
    session.verify_sign_password(sign_password(card_dir))
    session.sign_with_sign_key(digest_info)

    assert recording.sent_hex[-2:] == [SELECT_SIGN_KEY, "802A008033" + digest_info.hex().upper() + "00"]


def test_get_challenge_bytes(session: JpkiSession, recording) -> None:
    session.select()
    challenge = session.get_challenge(8)

    assert len(challenge) == 8
    assert recording.sent_hex[-1] == "0084000008"


def test_get_challenge_fresh(session: JpkiSession) -> None:
    session.select()

    assert session.get_challenge(16) != session.get_challenge(16)


@pytest.mark.parametrize("length", [0, 257])
def test_get_challenge_length_checked(session: JpkiSession, length: int) -> None:
    with pytest.raises(ValueError):
        session.get_challenge(length)


# Signature certificate --------------------------------------------------------------


def test_sign_certificate_needs_password(session: JpkiSession) -> None:
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError) as caught:
        session.read_sign_certificate()

    assert caught.value.__cause__.sw == 0x6982  # type: ignore[union-attr]


def test_sign_certificate_after_password(session: JpkiSession, recording, card_dir: Path) -> None:
    session.select()
    session.verify_sign_password(sign_password(card_dir))
    recording.sent.clear()

    der = session.read_sign_certificate()

    assert der == (card_dir / SIGN_CERT_FILE).read_bytes()
    assert recording.sent_hex[:2] == [SELECT_SIGN_CERT, "00B0000004"]


def test_sign_ca_certificate_free(session: JpkiSession, recording, card_dir: Path) -> None:
    session.select()

    der = session.read_sign_ca_certificate()

    assert der == (card_dir / "sign_ca_cert.der").read_bytes()
    assert recording.sent_hex[1] == SELECT_SIGN_CA_CERT


def test_sign_certificate_profile(card_dir: Path) -> None:
    certificate = x509.load_der_x509_certificate((card_dir / SIGN_CERT_FILE).read_bytes())
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    alt_names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    other = {name.type_id: name.value for name in alt_names.get_values_for_type(x509.OtherName)}

    assert key_usage.digital_signature
    assert key_usage.content_commitment
    assert policies.critical
    assert [policy.policy_identifier for policy in policies.value] == [DEV_SIGN_POLICY_OID]
    assert other[OID_SAN_NAME] == b"\x0c\x0f" + "黒桐\u3000幹也".encode()
    assert other[OID_SAN_BIRTH_DATE] == b"\x0c\x09" + b"319800217"
    assert other[OID_SAN_SEX] == b"\x0c\x01" + b"1"
    assert OID_SAN_ADDRESS in other


def test_sign_signature_verifies(session: JpkiSession, card_dir: Path) -> None:
    digest = hashlib.sha256(b"document").digest()
    session.select()
    session.verify_sign_password(sign_password(card_dir))
    signature = session.sign_with_sign_key(sha256_digest_info(digest))
    certificate = x509.load_der_x509_certificate((card_dir / SIGN_CERT_FILE).read_bytes())

    certificate.public_key().verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))  # type: ignore[union-attr]


def test_sign_without_password_6982(session: JpkiSession) -> None:
    session.select()

    with pytest.raises(SecurityStatusNotSatisfiedError):
        session.sign_with_sign_key(sha256_digest_info(bytes(32)))


def test_auth_pin_does_not_open_sign_key(session: JpkiSession, pin: str) -> None:
    session.select()
    session.verify_auth_pin(pin)

    with pytest.raises(SecurityStatusNotSatisfiedError):
        session.sign_with_sign_key(sha256_digest_info(bytes(32)))


def test_sign_password_upper_cased() -> None:
    assert normalise_sign_password("abcde1") == b"ABCDE1"


@pytest.mark.parametrize("password", ["", "ABCD1", "ABCDEFG", "1234567", "ABC-123", "A1" * 9, "ＡＢＣ１２３"])
def test_sign_password_format_rejected(password: str) -> None:
    with pytest.raises(InvalidPinFormatError):
        normalise_sign_password(password)


def test_sign_password_counts_five(session: JpkiSession, card: VirtualCard) -> None:
    session.select()

    with pytest.raises(WrongPinError) as caught:
        session.verify_sign_password("WRONG1")

    assert caught.value.tries_left == 4
    assert card.tries_left("jpki", 0x001B) == 4


# Last-try guard ----------------------------------------------------------------------


def test_last_try_not_sent(session: JpkiSession, recording, pin: str) -> None:
    wrong = "0000" if pin != "0000" else "1111"
    session.select()
    for _attempt in range(2):
        with pytest.raises(WrongPinError):
            session.verify_auth_pin(wrong)
    recording.sent.clear()

    with pytest.raises(LastPinTryError):
        session.verify_auth_pin(pin)

    assert recording.sent_hex == [SELECT_AUTH_PIN, EMPTY_VERIFY]


def test_last_try_confirmed_sent(session: JpkiSession, card: VirtualCard, pin: str) -> None:
    wrong = "0000" if pin != "0000" else "1111"
    session.select()
    for _attempt in range(2):
        with pytest.raises(WrongPinError):
            session.verify_auth_pin(wrong)

    session.verify_auth_pin(pin, confirm_last_try=True)

    assert card.tries_left("jpki", 0x0018) == 3


def test_blocked_pin_not_sent(scripted) -> None:
    session, connection = scripted((b"", 0x9000), (b"", 0x63C0))

    with pytest.raises(PinBlockedError):
        session.verify_auth_pin("1234", confirm_last_try=True)

    assert connection.sent_hex == [SELECT_AUTH_PIN, EMPTY_VERIFY]


def test_last_try_message_japanese() -> None:
    assert "残り回数が1回" in LastPinTryError().user_message


# Latency model --------------------------------------------------------------------------


def test_latency_delay_formula() -> None:
    model = LatencyModel(per_apdu=0.01, per_byte=0.001, per_signature=0.5)

    assert model.delay(5, 258) == pytest.approx(0.01 + 0.263)
    assert model.delay(5, 258, signed=True) == pytest.approx(0.01 + 0.263 + 0.5)


def test_latency_card_sleeps(card_dir: Path, pin: str) -> None:
    sleeps: list[float] = []
    model = LatencyModel(per_apdu=0.01, per_byte=0.0, per_signature=1.0, sleep=sleeps.append)
    card = VirtualCard.from_dir(card_dir, latency=model)
    session = JpkiSession(ApduProtocol(VirtualConnection(card)))

    session.select()
    session.verify_auth_pin(pin)
    sleeps.clear()
    session.sign_with_auth_key(sha256_digest_info(bytes(32)))

    assert sleeps == [pytest.approx(0.01), pytest.approx(1.01)]


def test_latency_failed_sign_no_rsa_time(card_dir: Path) -> None:
    sleeps: list[float] = []
    model = LatencyModel(per_apdu=0.01, per_byte=0.0, per_signature=1.0, sleep=sleeps.append)
    card = VirtualCard.from_dir(card_dir, latency=model)

    card.transmit(bytes.fromhex(SELECT_JPKI))
    card.transmit(bytes.fromhex("00A4020C020017"))
    card.transmit(bytes.fromhex("802A008003AABBCC00"))

    assert sleeps[-1] == pytest.approx(0.01)


def test_latency_contact_preset() -> None:
    assert CONTACT.per_signature > CONTACT.per_apdu > 0
