"""Consent: PIN challenges and the grants that scope every release of patient data."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hub.contract import Challenge, SummaryRequest
from hub.models import ApiClient, ConsentGrant, PinChallenge, db, utcnow
from hub.problems import ApiProblem
from mynacard.certs import load_certificate

CHALLENGE_BYTES = 32
CHALLENGE_SECONDS = 120


def new_challenge(client: ApiClient | None) -> Challenge:
    """Issue a challenge for a device's PIN consent, or with ``client=None`` for a patient's sign-in."""
    now = utcnow()
    row = PinChallenge(
        id=str(uuid.uuid4()),
        client_id=client.id if client is not None else None,
        nonce_hex=secrets.token_hex(CHALLENGE_BYTES),
        created_at=now,
        expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
    )
    db.session.add(row)
    db.session.commit()
    return Challenge(
        challenge_id=row.id,
        challenge_b64=base64.b64encode(bytes.fromhex(row.nonce_hex)).decode("ascii"),
        expires_at=row.expires_at.isoformat(),
    )


def check_pin_signature(client: ApiClient, request: SummaryRequest, certificate_der: bytes) -> None:
    """Consume the challenge and check the card's signature over it with the certificate's key.

    The challenge is marked used in the caller's transaction, so a replay of the
    same signature fails once the summary is committed.
    """
    consume_signed_challenge(client.id, request.challenge_id or "", request.signature_b64 or "", certificate_der)


def consume_signed_challenge(client_id: int | None, challenge_id: str, signature_b64: str, certificate_der: bytes) -> None:
    """Mark the challenge used and check the card's signature over it (PIN consent or patient sign-in)."""
    challenge = db.session.get(PinChallenge, challenge_id)
    if challenge is None or challenge.client_id != client_id or challenge.used_at is not None:
        raise ApiProblem(403, "invalid_challenge", "本人確認の問い合わせが無効です。もう一度暗証番号を入力してください。")

    if _aware(challenge.expires_at) < utcnow():
        raise ApiProblem(403, "challenge_expired", "本人確認の有効時間が過ぎました。もう一度暗証番号を入力してください。")

    challenge.used_at = utcnow()
    public_key = load_certificate(certificate_der).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or not _signature_valid(public_key, signature_b64, challenge):
        raise ApiProblem(403, "invalid_pin_signature", "カードの署名を確認できませんでした。もう一度お試しください。")


def new_grant(client: ApiClient, patient_id: int, request: SummaryRequest, minutes: int) -> ConsentGrant:
    now = utcnow()
    grant = ConsentGrant(
        id=str(uuid.uuid4()),
        patient_id=patient_id,
        incident_id=request.incident_id,
        client_id=client.id,
        mode=request.consent_mode,
        emergency_reason=request.emergency_reason,
        needs_review=request.consent_mode == "emergency",
        request_id=request.request_id,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(grant)
    return grant


def revoke_grant(grant: ConsentGrant, revoked_by: str) -> None:
    """Revoke ``grant`` now; a revoked grant releases nothing and forwards no packet."""
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        grant.revoked_by = revoked_by


def grant_is_valid(grant: ConsentGrant) -> bool:
    return grant.revoked_at is None and _aware(grant.expires_at) > utcnow()


def _signature_valid(public_key: rsa.RSAPublicKey, signature_b64: str, challenge: PinChallenge) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, bytes.fromhex(challenge.nonce_hex), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False

    return True


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
