"""File model of the virtual My Number Card: applications and their EFs.

This module owns what each application of the virtual card contains, built from a
card directory made by ``mynacard.devpki.issue_card``. ``mynacard.virtual.card``
owns the command handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.credentials import verification_number_b
from mynacard.devpki import (
    AUTH_CA_CERT_FILE,
    AUTH_CERT_FILE,
    AUTH_KEY_FILE,
    EF_FOLDER,
    PERSONA_FILE,
    SIGN_CA_CERT_FILE,
    SIGN_CERT_FILE,
    SIGN_KEY_FILE,
    SYNTHETIC_MY_NUMBER_RECORD,
    TEXT_AP_KEY_FILE,
    VISUAL_AP_KEY_FILE,
)
from mynacard.errors import MY_NUMBER_CARD_TOKEN
from mynacard.jpki import (
    EF_AUTH_CA_CERT,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_SIGN_CA_CERT,
    EF_SIGN_CERT,
    EF_SIGN_KEY,
    EF_SIGN_PIN,
    EF_TOKEN,
    JPKI_AID,
    SIGN_PASSWORD_MAX_TRIES,
    SMARTPHONE_TOKENS,
    TEXT_AP_AID,
    TEXT_AP_EF_MY_NUMBER,
    TOKEN_LENGTH,
    VISUAL_AP_AID,
    VISUAL_AP_EF_MY_NUMBER_IMAGE,
)
from mynacard.persona import CardPersona

__all__ = ["SYNTHETIC_MY_NUMBER_RECORD"]

JPKI_AP = "jpki"
TEXT_AP = "text"
VISUAL_AP = "visual"

PIN_MAX_TRIES = 3
# NOTE: no public source states the try limit of 照合番号B; 3 matches the card's
# 4-digit PINs and is an assumption.
VERIFICATION_NUMBER_MAX_TRIES = 3
CERTIFICATE_EF_SIZE = 2048
FILLER = 0xFF

TEXT_AP_EF_PIN = 0x0011
TEXT_AP_EF_BASIC_FOUR = 0x0002
TEXT_AP_EF_INTEGRITY = 0x0003
TEXT_AP_EF_CV_CERTIFICATE = 0x0004
TEXT_AP_EF_INFO = 0x0005
TEXT_AP_EF_CARD_KEY = 0x0007
TEXT_AP_EF_KEY = 0x0013
TEXT_AP_EF_VERIFICATION_NUMBER_A = 0x0014
TEXT_AP_EF_VERIFICATION_NUMBER_B = 0x0015
VISUAL_AP_EF_FACE = 0x0002
VISUAL_AP_EF_INFO = 0x0003
VISUAL_AP_EF_CV_CERTIFICATE = 0x0004
VISUAL_AP_EF_VERIFICATION_NUMBER_B = 0x0012
# 照合番号A of the visual AP. The virtual card has no such key, so the file it guards
# can never be read.
VISUAL_AP_EF_VERIFICATION_NUMBER_A = 0x0013
VISUAL_AP_EF_KEY = 0x001A


@dataclass(frozen=True)
class BinaryFile:
    """A transparent EF.

    ``pin_fid`` is the PIN that must be verified to read it, or None. ``also_unlocked_by``
    lists other key references that unlock it as well, such as 照合番号B next to the PIN.
    """

    data: bytes
    pin_fid: int | None = None
    also_unlocked_by: tuple[int, ...] = ()

    def is_readable(self, verified: set[int]) -> bool:
        """Return whether the file may be read with the keys verified in the current DF."""
        if self.pin_fid is None and not self.also_unlocked_by:
            return True
        unlocking = {self.pin_fid, *self.also_unlocked_by} - {None}
        return bool(unlocking & verified)


@dataclass(frozen=True)
class PinFile:
    """A PIN key reference (internal EF): VERIFY only."""

    value: bytes
    max_tries: int = PIN_MAX_TRIES


@dataclass(frozen=True)
class KeyFile:
    """A private-key reference (internal EF): signing after ``pin_fid`` was verified, or freely when it is None."""

    key: rsa.RSAPrivateKey
    pin_fid: int | None


CardFile = BinaryFile | PinFile | KeyFile


@dataclass(frozen=True)
class Application:
    """One application (DF) of the card, selected by its AID.

    ``default_key_fid`` is the key that COMPUTE DIGITAL SIGNATURE with P2=00 uses
    (internal authentication of the card-face APs), or None when the AP has none.
    """

    name: str
    aid: bytes
    files: dict[int, CardFile] = field(default_factory=dict)
    default_key_fid: int | None = None


def pad_with_filler(data: bytes, size: int) -> bytes:
    """Return ``data`` followed by FF filler up to ``size`` bytes, or up to the next multiple of 256."""
    if len(data) > size:
        size = -(-len(data) // 256) * 256
    return data + bytes([FILLER]) * (size - len(data))


def with_filler(data: bytes) -> bytes:
    """Return ``data`` followed by FF filler up to the next multiple of 256 bytes (at least 16 bytes of it)."""
    return pad_with_filler(data, -(-(len(data) + 16) // 256) * 256)


def token_record(token: str) -> bytes:
    """Return the token EF content: the ASCII label padded with spaces to 32 bytes."""
    return token.encode("ascii").ljust(TOKEN_LENGTH, b" ")


@dataclass(frozen=True)
class CardKeys:
    """The private keys and DER certificates of one virtual card. Optional parts are None on older card folders."""

    auth_key: rsa.RSAPrivateKey
    auth_cert_der: bytes
    auth_ca_cert_der: bytes
    sign_key: rsa.RSAPrivateKey | None = None
    sign_cert_der: bytes | None = None
    sign_ca_cert_der: bytes | None = None
    text_key: rsa.RSAPrivateKey | None = None
    visual_key: rsa.RSAPrivateKey | None = None
    records: dict[str, bytes] = field(default_factory=dict)


def build_applications(
    persona: CardPersona,
    auth_key: rsa.RSAPrivateKey,
    auth_cert_der: bytes,
    auth_ca_cert_der: bytes,
    token: str = MY_NUMBER_CARD_TOKEN,
    *,
    keys: CardKeys | None = None,
) -> list[Application]:
    """Build the JPKI, text and visual applications of one virtual card.

    The text-AP PIN is the persona's auth PIN: a real holder may choose the same value
    for both, and their counters stay separate. A smartphone token gets only the JPKI
    AP, with the auth certificate behind the auth PIN as on Android.
    """
    keys = keys or CardKeys(auth_key, auth_cert_der, auth_ca_cert_der)
    jpki = _jpki_application(persona, keys, token)
    if token in SMARTPHONE_TOKENS:
        return [jpki]
    return [jpki, _text_application(persona, keys), _visual_application(persona, keys)]


def _jpki_application(persona: CardPersona, keys: CardKeys, token: str) -> Application:
    auth_cert_pin = EF_AUTH_PIN if token in SMARTPHONE_TOKENS else None
    files: dict[int, CardFile] = {
        EF_TOKEN: BinaryFile(token_record(token)),
        EF_AUTH_CERT: BinaryFile(pad_with_filler(keys.auth_cert_der, CERTIFICATE_EF_SIZE), pin_fid=auth_cert_pin),
        EF_AUTH_CA_CERT: BinaryFile(pad_with_filler(keys.auth_ca_cert_der, CERTIFICATE_EF_SIZE)),
        EF_AUTH_KEY: KeyFile(keys.auth_key, pin_fid=EF_AUTH_PIN),
        EF_AUTH_PIN: PinFile(persona.auth_pin.encode("ascii")),
    }
    if keys.sign_key is not None and keys.sign_cert_der and keys.sign_ca_cert_der and persona.sign_password:
        files.update(
            {
                EF_SIGN_CERT: BinaryFile(pad_with_filler(keys.sign_cert_der, CERTIFICATE_EF_SIZE), pin_fid=EF_SIGN_PIN),
                EF_SIGN_CA_CERT: BinaryFile(pad_with_filler(keys.sign_ca_cert_der, CERTIFICATE_EF_SIZE)),
                EF_SIGN_KEY: KeyFile(keys.sign_key, pin_fid=EF_SIGN_PIN),
                EF_SIGN_PIN: PinFile(persona.sign_password.encode("ascii"), max_tries=SIGN_PASSWORD_MAX_TRIES),
            }
        )
    return Application(JPKI_AP, JPKI_AID, files)


def _verification_number_b(persona: CardPersona) -> bytes | None:
    if persona.card_expiry is None or persona.security_code is None:
        return None
    return verification_number_b(persona.birth_date, persona.card_expiry, persona.security_code).encode("ascii")


def _text_application(persona: CardPersona, keys: CardKeys) -> Application:
    pin = persona.auth_pin.encode("ascii")
    files: dict[int, CardFile] = {
        TEXT_AP_EF_MY_NUMBER: BinaryFile(SYNTHETIC_MY_NUMBER_RECORD, pin_fid=TEXT_AP_EF_PIN),
        TEXT_AP_EF_PIN: PinFile(pin),
    }
    number_b = _verification_number_b(persona)
    records = keys.records
    if number_b is None or keys.text_key is None or "text_0002.bin" not in records:
        return Application(TEXT_AP, TEXT_AP_AID, files)
    unlocked_by_b = (TEXT_AP_EF_VERIFICATION_NUMBER_B,)
    files.update(
        {
            TEXT_AP_EF_BASIC_FOUR: BinaryFile(with_filler(records["text_0002.bin"]), TEXT_AP_EF_PIN, unlocked_by_b),
            TEXT_AP_EF_INTEGRITY: BinaryFile(with_filler(records["text_0003.bin"]), TEXT_AP_EF_PIN, unlocked_by_b),
            TEXT_AP_EF_CV_CERTIFICATE: BinaryFile(with_filler(records["text_0004.bin"])),
            TEXT_AP_EF_INFO: BinaryFile(with_filler(records["text_0005.bin"])),
            TEXT_AP_EF_CARD_KEY: BinaryFile(with_filler(records["text_0007.bin"]), TEXT_AP_EF_PIN, unlocked_by_b),
            TEXT_AP_EF_KEY: KeyFile(keys.text_key, pin_fid=None),
            TEXT_AP_EF_VERIFICATION_NUMBER_B: PinFile(number_b, max_tries=VERIFICATION_NUMBER_MAX_TRIES),
        }
    )
    return Application(TEXT_AP, TEXT_AP_AID, files, default_key_fid=TEXT_AP_EF_KEY)


def _visual_application(persona: CardPersona, keys: CardKeys) -> Application:
    files: dict[int, CardFile] = {
        VISUAL_AP_EF_MY_NUMBER_IMAGE: BinaryFile(b"\xff\x40\x00", pin_fid=VISUAL_AP_EF_VERIFICATION_NUMBER_A),
    }
    number_b = _verification_number_b(persona)
    records = keys.records
    if number_b is None or keys.visual_key is None or "visual_0002.bin" not in records:
        return Application(VISUAL_AP, VISUAL_AP_AID, files)
    files.update(
        {
            VISUAL_AP_EF_FACE: BinaryFile(
                with_filler(records["visual_0002.bin"]),
                VISUAL_AP_EF_VERIFICATION_NUMBER_A,
                (VISUAL_AP_EF_VERIFICATION_NUMBER_B,),
            ),
            VISUAL_AP_EF_INFO: BinaryFile(with_filler(records["visual_0003.bin"])),
            VISUAL_AP_EF_CV_CERTIFICATE: BinaryFile(with_filler(records["visual_0004.bin"])),
            VISUAL_AP_EF_KEY: KeyFile(keys.visual_key, pin_fid=None),
            VISUAL_AP_EF_VERIFICATION_NUMBER_B: PinFile(number_b, max_tries=VERIFICATION_NUMBER_MAX_TRIES),
        }
    )
    return Application(VISUAL_AP, VISUAL_AP_AID, files, default_key_fid=VISUAL_AP_EF_KEY)


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not contain an RSA private key")
    return key


def _optional_key(path: Path) -> rsa.RSAPrivateKey | None:
    return _load_key(path) if path.exists() else None


def _optional_bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def load_card_keys(card_dir: Path) -> CardKeys:
    """Load a card folder's keys, certificates and records; raise FileNotFoundError naming a missing required file."""
    for name in (PERSONA_FILE, AUTH_KEY_FILE, AUTH_CERT_FILE, AUTH_CA_CERT_FILE):
        if not (card_dir / name).exists():
            raise FileNotFoundError(f"virtual card file missing: {card_dir / name}")
    ef_dir = card_dir / EF_FOLDER
    records = {path.name: path.read_bytes() for path in sorted(ef_dir.glob("*.bin"))} if ef_dir.is_dir() else {}
    return CardKeys(
        auth_key=_load_key(card_dir / AUTH_KEY_FILE),
        auth_cert_der=(card_dir / AUTH_CERT_FILE).read_bytes(),
        auth_ca_cert_der=(card_dir / AUTH_CA_CERT_FILE).read_bytes(),
        sign_key=_optional_key(card_dir / SIGN_KEY_FILE),
        sign_cert_der=_optional_bytes(card_dir / SIGN_CERT_FILE),
        sign_ca_cert_der=_optional_bytes(card_dir / SIGN_CA_CERT_FILE),
        text_key=_optional_key(card_dir / TEXT_AP_KEY_FILE),
        visual_key=_optional_key(card_dir / VISUAL_AP_KEY_FILE),
        records=records,
    )


def load_applications(card_dir: Path, token: str = MY_NUMBER_CARD_TOKEN) -> list[Application]:
    """Build the applications from the files of a card directory; raise FileNotFoundError naming a missing file."""
    keys = load_card_keys(card_dir)
    persona = CardPersona.load(card_dir / PERSONA_FILE)
    return build_applications(persona, keys.auth_key, keys.auth_cert_der, keys.auth_ca_cert_der, token, keys=keys)
