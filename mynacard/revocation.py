"""Revocation checks of auth certificates: a configured CRL file or OCSP responder.

This module owns the two ``RevocationChecker`` implementations that
``mynacard.certs.ValidationOptions`` accepts. J-LIS gives CRLs and OCSP only to
registered verifiers, so both sources are configured by the deployment; nothing is
checked when neither is set.

- ``CrlFile`` reads a CRL (DER or PEM) from disk on every check, verifies its signature
  with the certificate's root, and rejects a CRL whose nextUpdate has passed.
- ``OcspResponder`` POSTs an RFC 6960 request with a nonce, verifies the response
  signature (the root itself, or a responder certificate that the root issued for
  OCSPSigning), and checks that the response is for this certificate and current.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from mynacard.certs import RevocationChecker, serial_to_hex
from mynacard.errors import CertificateRevokedError, RevocationCheckError

logger = logging.getLogger(__name__)

OCSP_TIMEOUT = 5.0  # seconds for the whole HTTP exchange
OCSP_NONCE_LENGTH = 16
MAX_OCSP_RESPONSE = 64 * 1024
# Tolerated difference between our clock and the responder's, for thisUpdate.
CLOCK_SKEW = timedelta(minutes=5)
_DER = serialization.Encoding.DER


class CrlFile:
    """Revocation status from a CRL file at ``path``, re-read on every check so updates apply at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def check(self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime) -> None:
        """Raise CertificateRevokedError when the CRL lists the certificate as revoked at ``at``.

        Raises RevocationCheckError when the file is missing or malformed, is not signed
        by the issuer, or its nextUpdate has passed.
        """
        crl = self._load()
        serial = serial_to_hex(certificate.serial_number)
        if crl.issuer != issuer.subject or not _crl_signed_by(crl, issuer):
            raise RevocationCheckError(f"CRL {self.path} is not signed by the issuer of certificate {serial}")
        if crl.next_update_utc is not None and at > crl.next_update_utc:
            raise RevocationCheckError(
                f"CRL {self.path} is stale: nextUpdate {crl.next_update_utc.isoformat()} is before {at.isoformat()}"
            )
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if entry is not None and entry.revocation_date_utc <= at:
            logger.warning("certificate %s is revoked according to CRL %s", serial, self.path)
            raise CertificateRevokedError(
                f"certificate {serial} was revoked at {entry.revocation_date_utc.isoformat()} (CRL {self.path})"
            )
        logger.debug("certificate %s is not on CRL %s", serial, self.path)

    def _load(self) -> x509.CertificateRevocationList:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise RevocationCheckError(f"cannot read CRL file {self.path}: {exc}") from exc
        try:
            if b"-----BEGIN" in data:
                return x509.load_pem_x509_crl(data)
            return x509.load_der_x509_crl(data)
        except ValueError as exc:
            raise RevocationCheckError(f"CRL file {self.path} is malformed: {exc}") from exc


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    public_key = issuer.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    return crl.is_signature_valid(public_key)


class OcspResponder:
    """Revocation status from the OCSP responder at ``url`` (HTTP POST, RFC 6960)."""

    def __init__(self, url: str, timeout: float = OCSP_TIMEOUT) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"OCSP responder URL must be http or https, got {url!r}")
        self.url = url
        self.timeout = timeout

    def check(self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime) -> None:
        """Raise CertificateRevokedError for a revoked certificate and RevocationCheckError when no valid response arrived."""
        serial = serial_to_hex(certificate.serial_number)
        nonce = os.urandom(OCSP_NONCE_LENGTH)
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, issuer, hashes.SHA256())
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        response = self._post(request.public_bytes(_DER))
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise RevocationCheckError(f"OCSP responder {self.url} returned status {response.response_status.name}")
        _check_responder_signature(response, issuer, self.url)
        _check_response_matches(response, certificate, nonce, at, self.url)

        status = response.certificate_status
        if status == ocsp.OCSPCertStatus.REVOKED:
            logger.warning("certificate %s is revoked according to OCSP responder %s", serial, self.url)
            revoked_at = response.revocation_time_utc
            raise CertificateRevokedError(
                f"certificate {serial} was revoked at {revoked_at.isoformat() if revoked_at else 'an unknown time'}"
                f" (OCSP {self.url})"
            )
        if status != ocsp.OCSPCertStatus.GOOD:
            raise RevocationCheckError(f"OCSP responder {self.url} does not know certificate {serial}")
        logger.debug("OCSP responder %s reports certificate %s as good", self.url, serial)

    def _post(self, body: bytes) -> ocsp.OCSPResponse:
        http_request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/ocsp-request"}
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as http_response:
                data = http_response.read(MAX_OCSP_RESPONSE + 1)
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("OCSP request to %s failed: %s", self.url, exc)
            raise RevocationCheckError(f"OCSP request to {self.url} failed: {exc}") from exc
        if len(data) > MAX_OCSP_RESPONSE:
            raise RevocationCheckError(f"OCSP response from {self.url} exceeds {MAX_OCSP_RESPONSE} bytes")
        try:
            return ocsp.load_der_ocsp_response(data)
        except ValueError as exc:
            raise RevocationCheckError(f"OCSP response from {self.url} is malformed: {exc}") from exc



def _check_responder_signature(response: ocsp.OCSPResponse, issuer: x509.Certificate, url: str) -> None:
    """Accept a response signed by the issuer, or by a certificate the issuer issued for OCSPSigning."""
    candidates = [issuer] + [cert for cert in response.certificates if _is_delegated_responder(cert, issuer)]
    for signer in candidates:
        public_key = signer.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey) or response.signature_hash_algorithm is None:
            continue
        try:
            public_key.verify(
                response.signature,
                response.tbs_response_bytes,
                padding.PKCS1v15(),
                response.signature_hash_algorithm,
            )
        except InvalidSignature:
            continue
        return
    raise RevocationCheckError(f"OCSP response from {url} is not signed by the issuer or its delegated responder")


def _is_delegated_responder(candidate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        candidate.verify_directly_issued_by(issuer)
        usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in usage


def _check_response_matches(
    response: ocsp.OCSPResponse, certificate: x509.Certificate, nonce: bytes, at: datetime, url: str
) -> None:
    if response.serial_number != certificate.serial_number:
        raise RevocationCheckError(f"OCSP response from {url} is for another certificate")
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        echoed = None
    # NOTE: responders that pre-produce responses omit the nonce; those are accepted
    # when thisUpdate and nextUpdate are current. A wrong nonce is always rejected.
    if echoed is not None and echoed != nonce:
        raise RevocationCheckError(f"OCSP response from {url} carries a different nonce")
    if response.this_update_utc > at + CLOCK_SKEW:
        raise RevocationCheckError(f"OCSP response from {url} is dated in the future")
    if response.next_update_utc is not None and at > response.next_update_utc:
        raise RevocationCheckError(f"OCSP response from {url} expired at {response.next_update_utc.isoformat()}")


def revocation_from_config(crl_path: str | Path | None = None, ocsp_url: str | None = None) -> RevocationChecker | None:
    """Return the checker for a configured CRL file or OCSP URL, or None when neither is set.

    When both are set, the OCSP responder is used, because it is the fresher source.
    """
    if ocsp_url:
        return OcspResponder(ocsp_url)
    if crl_path:
        return CrlFile(crl_path)
    return None
