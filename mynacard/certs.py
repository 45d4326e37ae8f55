"""Verification of the JPKI user-authentication certificate (利用者証明用電子証明書).

This module owns the trust store of root certificates and the checks on the auth
certificate read from a card: signature by a trusted root, validity at a given time,
key usage, the certificate policy OID, a production mode that rejects test roots, and
revocation through the checker that ``mynacard.revocation`` provides when one is
configured. JPKI has one level: a self-signed J-LIS root issues the end-entity
certificates directly. Root generations share one DN, so the issuing root is found by
checking the signature against every root with that DN.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from mynacard.errors import (
    CertificateError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificatePolicyError,
    CertificateUsageError,
    UntrustedCertificateError,
)

logger = logging.getLogger(__name__)

TRUST_STORE_SUFFIXES = (".pem", ".der", ".cer")

# certificatePolicies of JPKI auth certificates (one source: the jsrsasign OID list).
JPKI_AUTH_POLICY_OID = x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.30")
# A UUID-based OID (ITU-T X.667, arc 2.25) that marks development certificates. It is
# deliberately not under the J-LIS arc, so no verifier can mistake it for a JPKI policy.
# The number is UUID e19068a2-680b-4c9e-876f-d50b265f770d as an integer.
DEV_AUTH_POLICY_OID = x509.ObjectIdentifier("2.25.299826112036996294696044923671583618829")
# The organisation of the production J-LIS roots; test roots read "JPKI-TEST".
PRODUCTION_ROOT_ORGANIZATION = "JPKI"


class RevocationChecker(Protocol):
    """A source of revocation status: a CRL file or an OCSP responder (see ``mynacard.revocation``)."""

    def check(self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime) -> None:
        """Return when the certificate is not revoked at ``at``; raise a CertificateError otherwise."""


@dataclass(frozen=True)
class ValidationOptions:
    """Optional checks of ``verify_auth_certificate``.

    ``accepted_policies`` are the policy OIDs of which the certificate must carry one;
    None means the production JPKI auth policy and, outside production mode, the
    development policy. ``production`` rejects roots whose organisation is not
    ``JPKI`` (test and development roots) and the development policy. ``revocation``
    is consulted last, when set.
    """

    accepted_policies: frozenset[x509.ObjectIdentifier] | None = None
    production: bool = False
    revocation: RevocationChecker | None = None

    def policies(self) -> frozenset[x509.ObjectIdentifier]:
        """Return the policy OIDs accepted under these options."""
        if self.accepted_policies is not None:
            return self.accepted_policies
        if self.production:
            return frozenset({JPKI_AUTH_POLICY_OID})
        return frozenset({JPKI_AUTH_POLICY_OID, DEV_AUTH_POLICY_OID})

_ROLE_CERTIFICATE = "certificate"
_ROLE_ROOT = "issuing root"
_ROOT_EXPIRED_MESSAGE = "電子証明書の発行元（ルート証明書）の有効期限が切れています。"
_ROOT_NOT_YET_VALID_MESSAGE = (
    "電子証明書の発行元（ルート証明書）の有効期間がまだ始まっていません。端末の日時を確認してください。"
)


@dataclass(frozen=True)
class CertificateInfo:
    """Summary of a certificate.

    ``subject`` and ``issuer`` are RFC 4514 strings. ``serial_hex`` is upper-case hex
    with an even number of digits. ``sha256_fingerprint`` is upper-case hex pairs
    separated by colons, as ``openssl x509 -fingerprint -sha256`` prints it.
    Times are timezone-aware UTC.
    """

    subject: str
    common_name: str
    serial_hex: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse one certificate from DER or PEM bytes; raise CertificateError when it is malformed."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
        # cryptography parses names and extensions lazily; touch them here so that a
        # malformed field raises CertificateError now instead of ValueError later.
        _ = (certificate.subject, certificate.issuer, certificate.extensions, certificate.version)
    except (ValueError, x509.InvalidVersion, x509.DuplicateExtension) as exc:
        raise CertificateError(f"cannot parse certificate: {exc}") from exc
    return certificate


def certificate_info(certificate: x509.Certificate) -> CertificateInfo:
    """Return the summary of a parsed certificate."""
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        common_name=_common_name(certificate.subject),
        serial_hex=serial_to_hex(certificate.serial_number),
        issuer=certificate.issuer.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


def serial_to_hex(serial: int) -> str:
    """Format a certificate serial number as upper-case hex with an even number of digits."""
    digits = f"{serial:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def _common_name(name: x509.Name) -> str:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return ""
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


class TrustStore:
    """Root certificates that may issue auth certificates."""

    def __init__(self, roots: Iterable[x509.Certificate]) -> None:
        self._roots = list(roots)

    @classmethod
    def from_folder(cls, path: str | Path) -> TrustStore:
        """Load every certificate in the ``*.pem``, ``*.der`` and ``*.cer`` files of a folder.

        A PEM file may contain several certificates. Raises FileNotFoundError when the
        folder does not exist, ValueError when it contains no certificate, and
        CertificateError naming the file that cannot be parsed.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"trust store folder not found: {folder}")
        roots: list[x509.Certificate] = []
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.suffix.lower() in TRUST_STORE_SUFFIXES:
                roots.extend(_load_certificates_file(file))
        if not roots:
            raise ValueError(f"no certificates (*.pem, *.der, *.cer) in trust store folder {folder}")
        logger.info("loaded %s trusted root certificates from %s", len(roots), folder)
        return cls(roots)

    @property
    def roots(self) -> list[x509.Certificate]:
        """A copy of the list of root certificates."""
        return list(self._roots)

    def __len__(self) -> int:
        return len(self._roots)

    def find_issuer(self, certificate: x509.Certificate) -> x509.Certificate | None:
        """Return the root whose key verifies the certificate's signature, or None.

        Only roots whose subject equals the certificate's issuer are tried, and of those
        the signature decides.
        """
        for root in self._roots:
            if root.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(root)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return root
        return None


def _load_certificates_file(file: Path) -> list[x509.Certificate]:
    data = file.read_bytes()
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertificateError(f"cannot parse certificate file {file}: {exc}") from exc


def verify_auth_certificate(
    der: bytes, trust: TrustStore, at: datetime | None = None, *, options: ValidationOptions | None = None
) -> CertificateInfo:
    """Verify a DER (or PEM) auth certificate and return its summary.

    The checks run in this order:

    1. A root in ``trust`` signed the certificate.
    2. In production mode, that root is a production J-LIS root.
    3. The certificate and that root are valid at ``at`` (default: now).
    4. keyUsage contains digitalSignature.
    5. The certificate is not a CA certificate.
    6. certificatePolicies contains an accepted policy OID.
    7. The revocation checker, when configured, does not report it revoked.

    ``at`` must be timezone-aware. The CertificateError subclass of the first failed
    check is raised.
    """
    options = options or ValidationOptions()
    moment = _check_moment(at)
    certificate = load_certificate(der)
    info = certificate_info(certificate)

    root = trust.find_issuer(certificate)
    if root is None:
        raise UntrustedCertificateError(
            f"no trusted root verifies the signature of certificate {info.serial_hex} issued by {info.issuer}"
        )
    if options.production:
        _check_production_root(root)
    _check_validity(certificate, moment, _ROLE_CERTIFICATE)
    _check_validity(root, moment, _ROLE_ROOT)
    _check_auth_usage(certificate)
    _check_policy(certificate, options.policies())
    if options.revocation is not None:
        options.revocation.check(certificate, root, moment)
    # The serial links to a person, so it stays out of INFO logs.
    logger.debug("auth certificate %s verified against root %s", info.serial_hex, serial_to_hex(root.serial_number))
    return info


def _check_moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("'at' must be a timezone-aware datetime")
    return at


def _check_validity(certificate: x509.Certificate, moment: datetime, role: str) -> None:
    serial = serial_to_hex(certificate.serial_number)
    is_root = role == _ROLE_ROOT
    if moment < certificate.not_valid_before_utc:
        raise CertificateNotYetValidError(
            f"{role} {serial} is valid from {certificate.not_valid_before_utc.isoformat()},"
            f" checked at {moment.isoformat()}",
            user_message=_ROOT_NOT_YET_VALID_MESSAGE if is_root else None,
        )
    if moment > certificate.not_valid_after_utc:
        raise CertificateExpiredError(
            f"{role} {serial} expired at {certificate.not_valid_after_utc.isoformat()},"
            f" checked at {moment.isoformat()}",
            user_message=_ROOT_EXPIRED_MESSAGE if is_root else None,
        )


def _check_auth_usage(certificate: x509.Certificate) -> None:
    serial = serial_to_hex(certificate.serial_number)
    try:
        key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CertificateUsageError(f"certificate {serial} has no keyUsage extension") from exc
    if not key_usage.digital_signature:
        raise CertificateUsageError(f"keyUsage of certificate {serial} lacks digitalSignature")
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return
    if constraints.ca:
        raise CertificateUsageError(f"certificate {serial} is a CA certificate, not an end-entity certificate")


def _check_production_root(root: x509.Certificate) -> None:
    organizations = [attribute.value for attribute in root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if organizations != [PRODUCTION_ROOT_ORGANIZATION]:
        raise CertificatePolicyError(
            f"production mode rejects root {serial_to_hex(root.serial_number)} with organisation {organizations}",
            user_message="テスト用の認証局が発行した電子証明書です。本番環境では使えません。",
        )


def _check_policy(certificate: x509.Certificate, accepted: frozenset[x509.ObjectIdentifier]) -> None:
    serial = serial_to_hex(certificate.serial_number)
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound as exc:
        raise CertificatePolicyError(f"certificate {serial} has no certificatePolicies extension") from exc
    found = {policy.policy_identifier for policy in policies}
    if not found & accepted:
        raise CertificatePolicyError(
            f"certificate {serial} has policies {sorted(oid.dotted_string for oid in found)},"
            f" none of the accepted {sorted(oid.dotted_string for oid in accepted)}"
        )
