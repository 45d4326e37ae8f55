"""Development PKI shaped like JPKI, for virtual cards and tests.

This module owns the development roots (``O=JPKI-TEST`` style DNs, one level like
the real J-LIS hierarchy), a J-LIS-like CA key and municipality key for the card-face
records, and the issuance of virtual cards: both JPKI key pairs and certificates, and
the signed records of the text AP and the visual AP. Nothing it creates is trusted
outside development: the roots live in their own trust-store folders, the certificates
carry development policy OIDs, and the CA key IDs start with ``DEV``.

Layout on disk::

    pki_dir/auth_root_key.pem          auth root private key (mode 0600)
    pki_dir/trust/auth_root.pem        auth root certificate; pki_dir/trust is a trust-store folder
    pki_dir/trust/card_ca_keys.json    the pinned card-face CA public key
    pki_dir/sign_root_key.pem          signature root private key (mode 0600)
    pki_dir/sign_trust/sign_root.pem   signature root certificate, a trust-store folder of its own
    pki_dir/card_ca_key.pem            card-face CA private key (mode 0600)
    pki_dir/card_issuer_key.pem        municipality key that signs card-face records (mode 0600)
    pki_dir/card_issuer_cv.bin         its CV certificate (EF 0004 of both card-face APs)
    card_dir/persona.json              the persona with the card's PIN, password and security code (0600)
    card_dir/auth_key.pem              the card's auth private key (mode 0600)
    card_dir/auth_cert.der             the auth certificate (EF 000A)
    card_dir/auth_ca_cert.der          the auth root certificate (EF 000B)
    card_dir/sign_key.pem              the card's signature private key (mode 0600)
    card_dir/sign_cert.der             the signature certificate (EF 0001)
    card_dir/sign_ca_cert.der          the signature root certificate (EF 0002)
    card_dir/text_ap_key.pem           the text AP's internal-authentication key (mode 0600)
    card_dir/visual_ap_key.pem         the visual AP's internal-authentication key (mode 0600)
    card_dir/ef/<ap>_<fid>.bin         signed card-face records, as the EFs contain them
"""

from __future__ import annotations

import logging
import os
import secrets
import string
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mynacard import facedata, faceimages
from mynacard.certs import DEV_AUTH_POLICY_OID, serial_to_hex
from mynacard.credentials import era_of
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

# The development policy OID of signature certificates, built like DEV_AUTH_POLICY_OID
# from UUID 7e0938c3-dacc-4dda-8b6d-94636a165619.
DEV_SIGN_POLICY_OID = x509.ObjectIdentifier("2.25.167530609472770428871536883712870733337")

# subjectAltName otherName OIDs of the signature certificate's 基本4情報.
OID_SAN_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")
OID_SAN_NAME_SUBSTITUTES = x509.ObjectIdentifier("1.2.392.200149.8.5.5.2")
OID_SAN_SEX = x509.ObjectIdentifier("1.2.392.200149.8.5.5.3")
OID_SAN_BIRTH_DATE = x509.ObjectIdentifier("1.2.392.200149.8.5.5.4")
OID_SAN_ADDRESS = x509.ObjectIdentifier("1.2.392.200149.8.5.5.5")
OID_SAN_ADDRESS_SUBSTITUTES = x509.ObjectIdentifier("1.2.392.200149.8.5.5.6")
# The certificate uses 1 male, 2 female, 3 unknown; the text AP uses JIS X 0303.
_CERTIFICATE_SEX = {"0": "3", "1": "1", "2": "2", "3": "3", "9": "3"}

SIGN_ROOT_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for digital signature"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME, "Japan Agency for Local Authority Information Systems"
        ),
    ]
)

# Key IDs of the card-face chain. Real cards name J-LIS keys such as 5000023 (test
# cards 6000023); the DEV prefix keeps these apart from both.
CARD_CA_KEY_ID = facedata.key_id("DEV0023")
CARD_ISSUER_KEY_ID = facedata.key_id("DEV13221/000")
CARD_ADULT_AGE = 18
CARD_VALIDITY_BIRTHDAYS_ADULT = 10
CARD_VALIDITY_BIRTHDAYS_MINOR = 5
SIGN_PASSWORD_LENGTH = 8
# AP basic-info identifiers seen on real cards (text AP DF41, visual AP DF31).
TEXT_AP_INFO = bytes.fromhex("01030E01")
VISUAL_AP_INFO = bytes.fromhex("06030E01")

# Text-AP EF 0001 as the card stores it: tag FF10, length 0C, 12 ASCII digits and two
# filler bytes, 17 bytes in all. Virtual cards contain a synthetic all-zero number.
SYNTHETIC_MY_NUMBER_RECORD = b"\xff\x10\x0c" + b"0" * 12 + b"\xff\xff"

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
SIGN_ROOT_KEY_FILE = "sign_root_key.pem"
SIGN_TRUST_FOLDER = "sign_trust"
SIGN_ROOT_CERT_FILE = "sign_root.pem"
CARD_CA_KEY_FILE = "card_ca_key.pem"
CARD_ISSUER_KEY_FILE = "card_issuer_key.pem"
CARD_ISSUER_CV_FILE = "card_issuer_cv.bin"
SIGN_KEY_FILE = "sign_key.pem"
SIGN_CERT_FILE = "sign_cert.der"
SIGN_CA_CERT_FILE = "sign_ca_cert.der"
TEXT_AP_KEY_FILE = "text_ap_key.pem"
VISUAL_AP_KEY_FILE = "visual_ap_key.pem"
EF_FOLDER = "ef"


@dataclass(frozen=True)
class CardFaceIssuer:
    """The J-LIS-like CA key and the municipality key that sign card-face records.

    ``cv_certificate`` is the 7F21 CV certificate of the municipality key, signed by
    the CA key; it goes into EF 0004 of both card-face APs.
    """

    ca_key: rsa.RSAPrivateKey
    issuer_key: rsa.RSAPrivateKey
    cv_certificate: bytes
    ca_key_id: bytes = CARD_CA_KEY_ID
    issuer_key_id: bytes = CARD_ISSUER_KEY_ID

    def pinned_keys(self) -> facedata.CardCaKeys:
        """The CA public key as a verifier pins it."""
        return facedata.CardCaKeys({self.ca_key_id: self.ca_key.public_key()}, {self.ca_key_id: "development CA"})


@dataclass(frozen=True)
class DevRoot:
    """A development root key and its self-signed certificate.

    ``trust_dir`` is the trust-store folder holding the certificate, or None for a
    root that exists only in memory. ``ensure_root`` also sets ``sign_root`` (the
    signature-certificate root) and ``card_face`` (the card-face signers); ``build_root``
    leaves them None, and ``issue_card`` then makes throwaway ones.
    """

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    trust_dir: Path | None = None
    sign_root: DevRoot | None = None
    card_face: CardFaceIssuer | None = None


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

    Also loads or creates the signature root and the card-face signers, so that a
    folder made by an earlier version gains them. When only a key exists (an
    interrupted first run), a new certificate is made for it. When a certificate
    exists without its key, FileNotFoundError is raised because certificates issued
    under it could no longer be matched.
    """
    pki_dir = Path(pki_dir)
    key_path = pki_dir / ROOT_KEY_FILE
    trust_dir = pki_dir / TRUST_FOLDER
    cert_path = trust_dir / ROOT_CERT_FILE

    auth_root = _ensure_self_signed_root(key_path, cert_path, ROOT_SUBJECT)
    sign_root = _ensure_self_signed_root(
        pki_dir / SIGN_ROOT_KEY_FILE, pki_dir / SIGN_TRUST_FOLDER / SIGN_ROOT_CERT_FILE, SIGN_ROOT_SUBJECT
    )
    card_face = _ensure_card_face_issuer(pki_dir)
    return DevRoot(
        key=auth_root.key,
        certificate=auth_root.certificate,
        trust_dir=trust_dir,
        sign_root=sign_root,
        card_face=card_face,
    )


def _ensure_self_signed_root(key_path: Path, cert_path: Path, subject: x509.Name) -> DevRoot:
    if cert_path.exists() and not key_path.exists():
        raise FileNotFoundError(
            f"root certificate {cert_path} exists but its key {key_path} is missing; "
            f"delete {key_path.parent} to create a new development PKI"
        )
    if key_path.exists() and cert_path.exists():
        return _load_root(key_path, cert_path, cert_path.parent)

    key = _load_private_key(key_path) if key_path.exists() else generate_rsa_key()
    root = build_root(key=key, subject=subject)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    if not key_path.exists():
        _write_private_key(key_path, key)
    _write_atomic(cert_path, root.certificate.public_bytes(serialization.Encoding.PEM))
    logger.info("created development root %s in %s", serial_to_hex(root.certificate.serial_number), cert_path.parent)
    return DevRoot(key=root.key, certificate=root.certificate, trust_dir=cert_path.parent)


def build_card_face_issuer() -> CardFaceIssuer:
    """Create an in-memory card-face CA key, municipality key and CV certificate."""
    ca_key = generate_rsa_key()
    issuer_key = generate_rsa_key()
    cv_certificate = facedata.build_cv_certificate(
        ca_key, CARD_CA_KEY_ID, issuer_key.public_key(), CARD_ISSUER_KEY_ID
    )
    return CardFaceIssuer(ca_key, issuer_key, cv_certificate)


def _ensure_card_face_issuer(pki_dir: Path) -> CardFaceIssuer:
    """Load the card-face signers from ``pki_dir``, creating them and the pinned key file when missing."""
    ca_path = pki_dir / CARD_CA_KEY_FILE
    issuer_path = pki_dir / CARD_ISSUER_KEY_FILE
    cv_path = pki_dir / CARD_ISSUER_CV_FILE
    pinned_path = pki_dir / TRUST_FOLDER / facedata.CARD_CA_KEYS_FILE
    if ca_path.exists() and issuer_path.exists() and cv_path.exists():
        issuer = CardFaceIssuer(_load_private_key(ca_path), _load_private_key(issuer_path), cv_path.read_bytes())
    else:
        issuer = build_card_face_issuer()
        _write_private_key(ca_path, issuer.ca_key)
        _write_private_key(issuer_path, issuer.issuer_key)
        _write_atomic(cv_path, issuer.cv_certificate)
        logger.info("created development card-face CA and issuer keys in %s", pki_dir)
    if not pinned_path.exists():
        pinned_path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(pinned_path, issuer.pinned_keys().to_json().encode("utf-8"))
    return issuer


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


def build_sign_certificate(
    sign_root: DevRoot,
    public_key: rsa.RSAPublicKey,
    persona: CardPersona,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """Create a signature certificate carrying the 基本4情報 in subjectAltName otherNames, as JPKI does.

    Subject ``C=JP, CN=<opaque id>``; keyUsage digitalSignature and nonRepudiation
    (critical); the birth date as ``EYYYYMMDD`` with the era code in front.
    """
    birth = persona.birth_date
    birth_value = f"{era_of(birth).code}{birth:%Y%m%d}"
    other_names = [
        (OID_SAN_NAME, persona.full_name),
        (OID_SAN_NAME_SUBSTITUTES, "0" * len(persona.full_name)),
        (OID_SAN_SEX, _CERTIFICATE_SEX[persona.sex]),
        (OID_SAN_BIRTH_DATE, birth_value),
        (OID_SAN_ADDRESS, persona.address),
        (OID_SAN_ADDRESS_SUBSTITUTES, "0" * len(persona.address)),
    ]
    alt_names = [x509.OtherName(oid, _der_utf8_string(value)) for oid, value in other_names]
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    x509.NameAttribute(NameOID.COMMON_NAME, new_opaque_id()),
                ]
            )
        )
        .issuer_name(sign_root.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(DEV_SIGN_POLICY_OID, None)]), critical=True
        )
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(sign_root.key.public_key()), critical=False
        )
    )
    return builder.sign(sign_root.key, hashes.SHA256())


def _der_utf8_string(value: str) -> bytes:
    return facedata.tlv.encode(0x0C, value.encode("utf-8"))


def card_expiry_date(birth_date: date, issued_at: datetime) -> date:
    """Return the card's expiry: the 10th birthday after issuance for adults, the 5th for minors."""
    issue_date = _aware_now(issued_at).astimezone(JST).date()
    age = issue_date.year - birth_date.year - ((issue_date.month, issue_date.day) < (birth_date.month, birth_date.day))
    birthdays = CARD_VALIDITY_BIRTHDAYS_ADULT if age >= CARD_ADULT_AGE else CARD_VALIDITY_BIRTHDAYS_MINOR
    first_year = issue_date.year
    if _birthday_in(birth_date, first_year) <= issue_date:
        first_year += 1
    return _birthday_in(birth_date, first_year + birthdays - 1)


def new_sign_password() -> str:
    """Return a random signature password: upper-case letters and digits with at least one of each."""
    alphabet = string.ascii_uppercase + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(SIGN_PASSWORD_LENGTH))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def complete_persona(persona: CardPersona, issued_at: datetime) -> CardPersona:
    """Return the persona with a signature password, card expiry and security code filled in where missing."""
    return replace(
        persona,
        sign_password=persona.sign_password or new_sign_password(),
        card_expiry=persona.card_expiry or card_expiry_date(persona.birth_date, issued_at),
        security_code=persona.security_code or f"{secrets.randbelow(10_000):04d}",
    )


def issue_card(root: DevRoot, persona: CardPersona, card_dir: Path, now: datetime | None = None) -> IssuedCard:
    """Issue a virtual card into ``card_dir``: both JPKI key pairs and certificates, and the card-face records.

    The persona's missing signature password, card expiry and security code are
    generated and saved in ``persona.json``. When ``card_dir`` already contains an auth
    certificate, the existing card is returned and nothing is rewritten, not even
    ``persona.json``, unless it was issued by an earlier version without the
    signature certificate or card-face records; those are then added.
    """
    card_dir = Path(card_dir)
    cert_path = card_dir / AUTH_CERT_FILE
    if cert_path.exists():
        issued = _load_issued_card(card_dir)
        if not (card_dir / SIGN_CERT_FILE).exists():
            stored = CardPersona.load(card_dir / PERSONA_FILE)
            _issue_extras(root, complete_persona(stored, _aware_now(now)), card_dir, _aware_now(now))
        return issued

    issued_at = _aware_now(now).replace(microsecond=0)
    persona = complete_persona(persona, issued_at)
    key = generate_rsa_key()
    certificate = build_auth_certificate(
        root,
        key.public_key(),
        new_opaque_id(),
        not_before=issued_at,
        not_after=auth_certificate_expiry(persona.birth_date, issued_at),
    )

    card_dir.mkdir(parents=True, exist_ok=True)
    _write_private_key(card_dir / AUTH_KEY_FILE, key)
    _write_atomic(card_dir / AUTH_CA_CERT_FILE, root.certificate.public_bytes(serialization.Encoding.DER))
    _issue_extras(root, persona, card_dir, issued_at)
    # The certificate is written last: its presence marks a complete card directory.
    certificate_der = certificate.public_bytes(serialization.Encoding.DER)
    _write_atomic(cert_path, certificate_der)

    serial_hex = serial_to_hex(certificate.serial_number)
    logger.info("issued virtual card %s for persona %s in %s", serial_hex, persona.persona_id, card_dir)
    return IssuedCard(card_dir, certificate_der, serial_hex, certificate.issuer.rfc4514_string())


def _issue_extras(root: DevRoot, persona: CardPersona, card_dir: Path, issued_at: datetime) -> None:
    """Write the persona, the signature key and certificate, and the card-face keys and records."""
    sign_root = root.sign_root
    if sign_root is None:
        logger.warning("root has no signature root; issuing under a throwaway one")
        sign_root = build_root(now=issued_at, subject=SIGN_ROOT_SUBJECT)
    card_face = root.card_face
    if card_face is None:
        logger.warning("root has no card-face signers; card-face records will not verify against any trust store")
        card_face = build_card_face_issuer()

    card_dir.mkdir(parents=True, exist_ok=True)
    persona.save(card_dir / PERSONA_FILE)
    sign_key = generate_rsa_key()
    sign_certificate = build_sign_certificate(
        sign_root,
        sign_key.public_key(),
        persona,
        not_before=issued_at,
        not_after=auth_certificate_expiry(persona.birth_date, issued_at),
    )
    _write_private_key(card_dir / SIGN_KEY_FILE, sign_key)
    _write_atomic(card_dir / SIGN_CA_CERT_FILE, sign_root.certificate.public_bytes(serialization.Encoding.DER))
    _write_card_face(card_face, persona, card_dir)
    _write_atomic(card_dir / SIGN_CERT_FILE, sign_certificate.public_bytes(serialization.Encoding.DER))


def _write_card_face(issuer: CardFaceIssuer, persona: CardPersona, card_dir: Path) -> None:
    """Write both APs' internal-authentication keys and their signed records into ``card_dir/ef``."""
    text_key = generate_rsa_key()
    visual_key = generate_rsa_key()
    _write_private_key(card_dir / TEXT_AP_KEY_FILE, text_key)
    _write_private_key(card_dir / VISUAL_AP_KEY_FILE, visual_key)
    photo = _persona_photo(persona, card_dir)
    records = card_face_records(
        persona,
        issuer_key=issuer.issuer_key,
        issuer_key_id=issuer.issuer_key_id,
        cv_certificate=issuer.cv_certificate,
        text_key=text_key.public_key(),
        visual_key=visual_key.public_key(),
        photo_jp2=photo,
        number_file=SYNTHETIC_MY_NUMBER_RECORD,
    )
    (card_dir / EF_FOLDER).mkdir(exist_ok=True)
    for name, data in records.items():
        _write_atomic(card_dir / EF_FOLDER / name, data)


def card_face_records(
    persona: CardPersona,
    *,
    issuer_key: rsa.RSAPrivateKey,
    issuer_key_id: bytes,
    cv_certificate: bytes,
    text_key: rsa.RSAPublicKey,
    visual_key: rsa.RSAPublicKey,
    photo_jp2: bytes,
    number_file: bytes,
) -> dict[str, bytes]:
    """Build the card-face EF contents (without filler), keyed by file name ``<ap>_<fid>.bin``."""
    if persona.card_expiry is None or persona.security_code is None:
        raise ValueError(f"persona {persona.persona_id!r} needs card_expiry and security_code; use complete_persona")
    basic_four = facedata.build_basic_four(
        facedata.BasicFourInfo(persona.full_name, persona.address, persona.birth_date, persona.sex)
    )
    face = facedata.build_card_face(
        birth_date=persona.birth_date,
        sex=persona.sex,
        card_key=visual_key,
        name_image=faceimages.text_png(persona.full_name),
        address_image=faceimages.text_png(persona.address),
        photo_jp2=photo_jp2,
        expiry=persona.card_expiry,
        security_code_image=faceimages.security_code_png(persona.security_code),
        signer=issuer_key,
    )
    return {
        "text_0002.bin": basic_four,
        "text_0003.bin": facedata.build_text_integrity(number_file, basic_four, issuer_key),
        "text_0004.bin": cv_certificate,
        "text_0005.bin": facedata.build_ap_info(0xFF40, 0xDF41, TEXT_AP_INFO, issuer_key_id),
        "text_0007.bin": facedata.build_text_card_key(text_key, issuer_key),
        "visual_0002.bin": face,
        "visual_0003.bin": facedata.build_ap_info(0xFF30, 0xDF31, VISUAL_AP_INFO, issuer_key_id),
        "visual_0004.bin": cv_certificate,
    }


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


def _persona_photo(persona: CardPersona, card_dir: Path) -> bytes:
    if persona.face_photo is None:
        return faceimages.synthetic_photo_jp2(persona.persona_id)
    path = Path(persona.face_photo)
    if not path.is_absolute():
        path = card_dir / path
    return faceimages.load_photo_jp2(path)


def _key_usage(
    *, digital_signature: bool = False, content_commitment: bool = False, key_cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
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
