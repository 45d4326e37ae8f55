"""Development PKI shaped like JPKI, for virtual cards and tests.

This module owns the development root (``O=JPKI-TEST`` style DN, one level like the
real J-LIS hierarchy) and the issuance of virtual-card user-authentication keys and
certificates. Nothing it creates is trusted outside development: the root lives in
its own trust-store folder, and the certificates carry a development policy OID.

Layout on disk::

    pki_dir/auth_root_key.pem      root private key (mode 0600)
    pki_dir/trust/auth_root.pem    root certificate; pki_dir/trust is a trust-store folder
    card_dir/persona.json          the persona, including the virtual card's PIN (mode 0600)
    card_dir/auth_key.pem          the card's auth private key (mode 0600)
    card_dir/auth_cert.der         the auth certificate (EF 000A)
    card_dir/auth_ca_cert.der      the root certificate (EF 000B)
"""

from __future__ import annotations

import logging
import os
import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mynacard.certs import serial_to_hex
from mynacard.persona import CardPersona

logger = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9), "JST")
RSA_KEY_SIZE = 2048
RSA_PUBLIC_EXPONENT = 65537
ROOT_VALIDITY = timedelta(days=20 * 365)
ROOT_BACKDATE = timedelta(hours=1)  # tolerates small clock differences between machines
OPAQUE_ID_LENGTH = 23
OPAQUE_ID_ALPHABET = string.digits + string.ascii_uppercase
AUTH_CERT_VALIDITY_BIRTHDAYS = 5

# A UUID-based OID (ITU-T X.667, arc 2.25) that marks development certificates. It is
# deliberately not under the J-LIS arc, so no verifier can mistake it for a JPKI policy.
# The number is UUID e19068a2-680b-4c9e-876f-d50b265f770d as an integer.
DEV_AUTH_POLICY_OID = x509.ObjectIdentifier("2.25.299826112036996294696044923671583618829")

ROOT_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME, "Japan Agency for Local Authority Information Systems"
        ),
    ]
)

ROOT_KEY_FILE = "auth_root_key.pem"
TRUST_FOLDER = "trust"
ROOT_CERT_FILE = "auth_root.pem"
PERSONA_FILE = "persona.json"
AUTH_KEY_FILE = "auth_key.pem"
AUTH_CERT_FILE = "auth_cert.der"
AUTH_CA_CERT_FILE = "auth_ca_cert.der"


@dataclass(frozen=True)
class DevRoot:
    """A development root key and its self-signed certificate.

    ``trust_dir`` is the trust-store folder holding the certificate, or None for a
    root that exists only in memory.
    """

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    trust_dir: Path | None = None


@dataclass(frozen=True)
class IssuedCard:
    """The files of one issued virtual card and the facts of its auth certificate."""

    card_dir: Path
    certificate_der: bytes
    serial_hex: str
    issuer: str


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """Generate an RSA-2048 key with e = 65537, as on the card."""
    return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)


def build_root(
    now: datetime | None = None,
    subject: x509.Name = ROOT_SUBJECT,
    key: rsa.RSAPrivateKey | None = None,
    validity: timedelta = ROOT_VALIDITY,
) -> DevRoot:
    """Create an in-memory self-signed root (CA, keyCertSign and cRLSign, like the J-LIS roots)."""
    moment = _aware_now(now)
    root_key = key or generate_rsa_key()
    public_key = root_key.public_key()
    not_before = moment - ROOT_BACKDATE
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return DevRoot(key=root_key, certificate=certificate)


def ensure_root(pki_dir: Path) -> DevRoot:
    """Load the development root from ``pki_dir``, creating it on the first call.

    When only the key exists (an interrupted first run), a new certificate is made for
    it. When the certificate exists without its key, FileNotFoundError is raised
    because certificates issued under it could no longer be matched.
    """
    pki_dir = Path(pki_dir)
    key_path = pki_dir / ROOT_KEY_FILE
    trust_dir = pki_dir / TRUST_FOLDER
    cert_path = trust_dir / ROOT_CERT_FILE

    if cert_path.exists() and not key_path.exists():
        raise FileNotFoundError(
            f"root certificate {cert_path} exists but its key {key_path} is missing; "
            f"delete {pki_dir} to create a new development PKI"
        )
    if key_path.exists() and cert_path.exists():
        return _load_root(key_path, cert_path, trust_dir)

    key = _load_private_key(key_path) if key_path.exists() else generate_rsa_key()
    root = build_root(key=key)
    trust_dir.mkdir(parents=True, exist_ok=True)
    if not key_path.exists():
        _write_private_key(key_path, key)
    _write_atomic(cert_path, root.certificate.public_bytes(serialization.Encoding.PEM))
    logger.info("created development root %s in %s", serial_to_hex(root.certificate.serial_number), pki_dir)
    return DevRoot(key=root.key, certificate=root.certificate, trust_dir=trust_dir)


def _load_root(key_path: Path, cert_path: Path, trust_dir: Path) -> DevRoot:
    key = _load_private_key(key_path)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise ValueError(f"root certificate {cert_path} does not match the key {key_path}")
    return DevRoot(key=key, certificate=certificate, trust_dir=trust_dir)


def new_opaque_id() -> str:
    """Return a random 23-character upper-case alphanumeric id, the shape of a JPKI auth-certificate CN."""
    return "".join(secrets.choice(OPAQUE_ID_ALPHABET) for _ in range(OPAQUE_ID_LENGTH))


def auth_certificate_expiry(birth_date: date, issued_at: datetime) -> datetime:
    """Return the end of the 5th birthday after issuance, 23:59:59 JST, as JPKI auth certificates use.

    The first birthday counted is the first one strictly after the issuance date in JST.
    """
    issue_date = _aware_now(issued_at).astimezone(JST).date()
    first_year = issue_date.year
    if _birthday_in(birth_date, first_year) <= issue_date:
        first_year += 1
    fifth = _birthday_in(birth_date, first_year + AUTH_CERT_VALIDITY_BIRTHDAYS - 1)
    return datetime.combine(fifth, time(23, 59, 59), tzinfo=JST).astimezone(timezone.utc)


def _birthday_in(birth_date: date, year: int) -> date:
    try:
        return birth_date.replace(year=year)
    except ValueError:
        # NOTE: a 29 February birthday falls on 28 February in common years here. The
        # J-LIS rule for this case was not checked.
        return date(year, 2, 28)


def build_auth_certificate(
    root: DevRoot,
    public_key: rsa.RSAPublicKey,
    common_name: str,
    not_before: datetime,
    not_after: datetime,
    *,
    include_key_usage: bool = True,
) -> x509.Certificate:
    """Create an auth certificate (subject ``C=JP, CN=<common_name>``) signed by ``root``.

    The certificate carries keyUsage digitalSignature (critical) unless
    ``include_key_usage`` is False, which tests use to build an invalid certificate.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(root.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(DEV_AUTH_POLICY_OID, None)]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False
        )
    )
    if include_key_usage:
        builder = builder.add_extension(_key_usage(digital_signature=True), critical=True)
    return builder.sign(root.key, hashes.SHA256())


def issue_card(root: DevRoot, persona: CardPersona, card_dir: Path, now: datetime | None = None) -> IssuedCard:
    """Issue a virtual card's auth key and certificate into ``card_dir``.

    When ``card_dir`` already contains an auth certificate, the existing card is returned
    and nothing is rewritten, not even ``persona.json``.
    """
    card_dir = Path(card_dir)
    cert_path = card_dir / AUTH_CERT_FILE
    if cert_path.exists():
        return _load_issued_card(card_dir)

    issued_at = _aware_now(now).replace(microsecond=0)
    key = generate_rsa_key()
    certificate = build_auth_certificate(
        root,
        key.public_key(),
        new_opaque_id(),
        not_before=issued_at,
        not_after=auth_certificate_expiry(persona.birth_date, issued_at),
    )

    card_dir.mkdir(parents=True, exist_ok=True)
    persona.save(card_dir / PERSONA_FILE)
    _write_private_key(card_dir / AUTH_KEY_FILE, key)
    _write_atomic(card_dir / AUTH_CA_CERT_FILE, root.certificate.public_bytes(serialization.Encoding.DER))
    # The certificate is written last: its presence marks a complete card directory.
    certificate_der = certificate.public_bytes(serialization.Encoding.DER)
    _write_atomic(cert_path, certificate_der)

    serial_hex = serial_to_hex(certificate.serial_number)
    logger.info("issued virtual card %s for persona %s in %s", serial_hex, persona.persona_id, card_dir)
    return IssuedCard(card_dir, certificate_der, serial_hex, certificate.issuer.rfc4514_string())


def _load_issued_card(card_dir: Path) -> IssuedCard:
    for name in (PERSONA_FILE, AUTH_KEY_FILE, AUTH_CA_CERT_FILE):
        if not (card_dir / name).exists():
            raise FileNotFoundError(f"card directory {card_dir} is incomplete: {name} is missing")
    certificate_der = (card_dir / AUTH_CERT_FILE).read_bytes()
    certificate = x509.load_der_x509_certificate(certificate_der)
    return IssuedCard(
        card_dir,
        certificate_der,
        serial_to_hex(certificate.serial_number),
        certificate.issuer.rfc4514_string(),
    )


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _aware_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("'now' must be a timezone-aware datetime")
    return now


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not contain an RSA private key")
    return key


def _write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomic(path, pem, mode=0o600)


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
