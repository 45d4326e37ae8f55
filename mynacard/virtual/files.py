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

from mynacard.devpki import AUTH_CA_CERT_FILE, AUTH_CERT_FILE, AUTH_KEY_FILE, PERSONA_FILE
from mynacard.errors import MY_NUMBER_CARD_TOKEN
from mynacard.jpki import (
    EF_AUTH_CA_CERT,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_TOKEN,
    JPKI_AID,
    TEXT_AP_AID,
    TEXT_AP_EF_MY_NUMBER,
    TOKEN_LENGTH,
    VISUAL_AP_AID,
    VISUAL_AP_EF_MY_NUMBER_IMAGE,
)
from mynacard.persona import CardPersona

JPKI_AP = "jpki"
TEXT_AP = "text"
VISUAL_AP = "visual"

PIN_MAX_TRIES = 3
CERTIFICATE_EF_SIZE = 2048
FILLER = 0xFF

TEXT_AP_EF_PIN = 0x0011
# 照合番号A of the visual AP. The virtual card has no such key, so the file it guards
# can never be read.
VISUAL_AP_EF_VERIFICATION_NUMBER_A = 0x0013

# Text-AP EF 0001 as the card stores it: tag FF10, length 0C, 12 ASCII digits and two
# filler bytes, 17 bytes in all. The virtual card contains a synthetic all-zero number.
SYNTHETIC_MY_NUMBER_RECORD = b"\xff\x10\x0c" + b"0" * 12 + b"\xff\xff"


@dataclass(frozen=True)
class BinaryFile:
    """A transparent EF. ``pin_fid`` is the PIN that must be verified to read it, or None."""

    data: bytes
    pin_fid: int | None = None


@dataclass(frozen=True)
class PinFile:
    """A PIN key reference (internal EF): VERIFY only."""

    value: bytes
    max_tries: int = PIN_MAX_TRIES


@dataclass(frozen=True)
class KeyFile:
    """A private-key reference (internal EF): signing after ``pin_fid`` was verified."""

    key: rsa.RSAPrivateKey
    pin_fid: int


CardFile = BinaryFile | PinFile | KeyFile


@dataclass(frozen=True)
class Application:
    """One application (DF) of the card, selected by its AID."""

    name: str
    aid: bytes
    files: dict[int, CardFile] = field(default_factory=dict)


def pad_with_filler(data: bytes, size: int) -> bytes:
    """Return ``data`` followed by FF filler up to ``size`` bytes, or up to the next multiple of 256."""
    if len(data) > size:
        size = -(-len(data) // 256) * 256
    return data + bytes([FILLER]) * (size - len(data))


def token_record(token: str) -> bytes:
    """Return the token EF content: the ASCII label padded with spaces to 32 bytes."""
    return token.encode("ascii").ljust(TOKEN_LENGTH, b" ")


def build_applications(
    persona: CardPersona,
    auth_key: rsa.RSAPrivateKey,
    auth_cert_der: bytes,
    auth_ca_cert_der: bytes,
    token: str = MY_NUMBER_CARD_TOKEN,
) -> list[Application]:
    """Build the JPKI, text and visual applications of one virtual card.

    The text-AP PIN is the persona's auth PIN: a real holder may choose the same value
    for both, and their counters stay separate.
    """
    pin = persona.auth_pin.encode("ascii")
    jpki = Application(
        JPKI_AP,
        JPKI_AID,
        {
            EF_TOKEN: BinaryFile(token_record(token)),
            EF_AUTH_CERT: BinaryFile(pad_with_filler(auth_cert_der, CERTIFICATE_EF_SIZE)),
            EF_AUTH_CA_CERT: BinaryFile(pad_with_filler(auth_ca_cert_der, CERTIFICATE_EF_SIZE)),
            EF_AUTH_KEY: KeyFile(auth_key, pin_fid=EF_AUTH_PIN),
            EF_AUTH_PIN: PinFile(pin),
        },
    )
    text = Application(
        TEXT_AP,
        TEXT_AP_AID,
        {
            TEXT_AP_EF_MY_NUMBER: BinaryFile(SYNTHETIC_MY_NUMBER_RECORD, pin_fid=TEXT_AP_EF_PIN),
            TEXT_AP_EF_PIN: PinFile(pin),
        },
    )
    visual = Application(
        VISUAL_AP,
        VISUAL_AP_AID,
        {
            VISUAL_AP_EF_MY_NUMBER_IMAGE: BinaryFile(b"\xff\x40\x00", pin_fid=VISUAL_AP_EF_VERIFICATION_NUMBER_A),
        },
    )
    return [jpki, text, visual]


def load_applications(card_dir: Path, token: str = MY_NUMBER_CARD_TOKEN) -> list[Application]:
    """Build the applications from the files of a card directory; raise FileNotFoundError naming a missing file."""
    paths = {name: card_dir / name for name in (PERSONA_FILE, AUTH_KEY_FILE, AUTH_CERT_FILE, AUTH_CA_CERT_FILE)}
    for path in paths.values():
        if not path.exists():
            raise FileNotFoundError(f"virtual card file missing: {path}")
    key = serialization.load_pem_private_key(paths[AUTH_KEY_FILE].read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{paths[AUTH_KEY_FILE]} does not contain an RSA private key")
    return build_applications(
        CardPersona.load(paths[PERSONA_FILE]),
        key,
        paths[AUTH_CERT_FILE].read_bytes(),
        paths[AUTH_CA_CERT_FILE].read_bytes(),
        token,
    )
