"""Identity: verify a card's 利用者証明用 certificate and find the linked patient."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime, timezone
from functools import lru_cache

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


def verify_card(der: bytes, trust_folder: str, at: datetime | None = None) -> CertificateInfo:
    """Verify the certificate, mapping each failure to its own problem."""
    try:
        return verify_auth_certificate(der, trust_store(trust_folder), at or datetime.now(timezone.utc))
    except CertificateExpiredError as exc:
        raise ApiProblem(422, "expired_certificate", "カードの利用者証明用電子証明書は有効期限が切れています。", "expired certificate") from exc
    except CertificateNotYetValidError as exc:
        raise ApiProblem(422, "certificate_not_yet_valid", "カードの電子証明書はまだ有効になっていません。") from exc
    except CertificateError as exc:
        logger.warning("card certificate rejected: %s", exc)
        raise ApiProblem(422, "unknown_card", "このカードの電子証明書を確認できません。正規のマイナンバーカードではない可能性があります。", "unknown card") from exc


def linked_patient(info: CertificateInfo) -> Patient:
    link = db.session.execute(
        db.select(CardLink).where(CardLink.issuer == info.issuer, CardLink.serial_hex == info.serial_hex)
    ).scalar_one_or_none()
    if link is None:
        raise ApiProblem(404, "unlinked_card", "このカードは健康保険証として登録されていません(マイナ保険証の利用登録なし)。", "unlinked card")

    return db.session.get(Patient, link.patient_id)
