"""Identity: verify a card's 利用者証明用 certificate and find the linked patient.

Each failure has its own problem code: ``malformed_certificate``,
``unknown_card`` (not issued under a trusted root), ``expired_certificate``,
``certificate_not_yet_valid``, ``revoked_certificate`` (listed in a CRL from the
configured folder) and ``unlinked_card`` (no insured person linked).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.certs import CertificateInfo, TrustStore, verify_auth_certificate
from mynacard.errors import CertificateError, CertificateExpiredError, CertificateNotYetValidError

from hub.models import CardLink, Patient, db
from hub.problems import ApiProblem

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def trust_store(folder: str) -> TrustStore:
    return TrustStore.from_folder(folder)


def decode_certificate(certificate_der_b64: str) -> bytes:
    try:
        return base64.b64decode(certificate_der_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiProblem(400, "malformed_certificate", "証明書のデータが壊れています。カードを読み直してください。") from exc


# A verified certificate is trusted again without re-checking its chain signature
# for this long. Validity time is still checked on every request (an entry never
# outlives the certificate or its root), and revocation is checked by the caller.
VERIFIED_CACHE_SECONDS = 300.0
VERIFIED_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class _VerifiedEntry:
    info: CertificateInfo
    usable_until: datetime


_verified: dict[tuple[bytes, str], _VerifiedEntry] = {}
_verified_lock = threading.Lock()


def verify_card(der: bytes, trust_folder: str, at: datetime | None = None) -> CertificateInfo:
    """Verify the certificate, mapping each failure to its own problem.

    Without ``at``, a certificate verified within VERIFIED_CACHE_SECONDS is not
    verified again: the chain signature check is the costly part of a summary request.
    """
    if at is None:
        cached = _cached_verification(der, trust_folder)
        if cached is not None:
            return cached

    info = _verify_uncached(der, trust_folder, at)
    if at is None:
        _remember_verification(der, trust_folder, info)

    return info


def _cached_verification(der: bytes, trust_folder: str) -> CertificateInfo | None:
    entry = _verified.get((hashlib.sha256(der).digest(), trust_folder))
    if entry is None:
        return None

    now = datetime.now(timezone.utc)
    if not entry.info.not_before <= now < entry.usable_until:
        return None

    return entry.info


def _remember_verification(der: bytes, trust_folder: str, info: CertificateInfo) -> None:
    now = datetime.now(timezone.utc)
    usable_until = min(now + timedelta(seconds=VERIFIED_CACHE_SECONDS), info.not_after, _root_not_after(info, trust_folder))
    with _verified_lock:
        if len(_verified) >= VERIFIED_CACHE_ENTRIES:
            _verified.pop(next(iter(_verified)))

        _verified[(hashlib.sha256(der).digest(), trust_folder)] = _VerifiedEntry(info, usable_until)


def _root_not_after(info: CertificateInfo, trust_folder: str) -> datetime:
    ends = [root.not_valid_after_utc for root in trust_store(trust_folder).roots if root.subject.rfc4514_string() == info.issuer]
    return min(ends, default=info.not_after)


def clear_verification_cache() -> None:
    """Forget every cached verification (tests that change the trust store or the clock)."""
    with _verified_lock:
        _verified.clear()


def _verify_uncached(der: bytes, trust_folder: str, at: datetime | None) -> CertificateInfo:
    try:
        return verify_auth_certificate(der, trust_store(trust_folder), at or datetime.now(timezone.utc))
    except CertificateExpiredError as exc:
        raise ApiProblem(422, "expired_certificate", "カードの利用者証明用電子証明書は有効期限が切れています。", "expired certificate") from exc
    except CertificateNotYetValidError as exc:
        raise ApiProblem(422, "certificate_not_yet_valid", "カードの電子証明書はまだ有効になっていません。") from exc
    except CertificateError as exc:
        logger.warning("card certificate rejected: %s", exc)
        raise ApiProblem(422, "unknown_card", "このカードの電子証明書を確認できません。正規のマイナンバーカードではない可能性があります。", "unknown card") from exc


def check_not_revoked(info: CertificateInfo, crl_folder: str | None, trust_folder: str) -> None:
    """Raise ``revoked_certificate`` when a trusted CRL in ``crl_folder`` lists the certificate."""
    if not crl_folder:
        return

    serial = int(info.serial_hex, 16)
    for crl in revocation_lists(crl_folder, trust_folder):
        if crl.issuer.rfc4514_string() != info.issuer:
            continue

        if crl.get_revoked_certificate_by_serial_number(serial) is not None:
            logger.info("card certificate rejected: serial listed in a CRL")
            raise ApiProblem(422, "revoked_certificate", "このカードの電子証明書は失効しています。市区町村の窓口で再発行の手続きが必要です。", "revoked certificate")


@lru_cache(maxsize=4)
def revocation_lists(folder: str, trust_folder: str) -> tuple[x509.CertificateRevocationList, ...]:
    """Load the CRLs in ``folder`` (DER or PEM) whose signature a trusted root verifies.

    NOTE: loaded once per process; a deployment that replaces CRL files must restart the hub.
    """
    lists = []
    for path in sorted(Path(folder).glob("*")):
        if not path.is_file():
            continue

        data = path.read_bytes()
        crl = x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----") else x509.load_der_x509_crl(data)
        if _crl_signed_by_trusted_root(crl, trust_store(trust_folder)):
            lists.append(crl)
        else:
            logger.warning("CRL %s ignored: no trusted root signed it", path.name)

    return tuple(lists)


def _crl_signed_by_trusted_root(crl: x509.CertificateRevocationList, trust: TrustStore) -> bool:
    for root in trust.roots:
        key = root.public_key()
        if root.subject == crl.issuer and isinstance(key, rsa.RSAPublicKey) and crl.is_signature_valid(key):
            return True

    return False


def linked_patient(info: CertificateInfo) -> Patient:
    patient = db.session.execute(
        db.select(Patient)
        .join(CardLink, CardLink.patient_id == Patient.id)
        .where(CardLink.issuer == info.issuer, CardLink.serial_hex == info.serial_hex)
    ).scalar_one_or_none()
    if patient is None:
        raise unlinked_card()

    return patient


def unlinked_card() -> ApiProblem:
    return ApiProblem(404, "unlinked_card", "このカードは健康保険証として登録されていません(マイナ保険証の利用登録なし)。", "unlinked card")
