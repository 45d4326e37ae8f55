"""The card step: reader state, card read, consent modes and the summary request.

The card is reached through PC/SC, or in tests and benchmarks through an in-process
virtual card (``VIRTUAL_CARD_DIR``). PINs live only in the request that carries them:
they are passed to the card and never stored or logged.

Every failure becomes a :class:`CardStepError` with Japanese text and the next steps
the crew can take (try again, continue without the card, ask for the PIN, use verbal
consent).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from field_unit import outbox
from field_unit.hub_link import NotRegisteredError, hub_client
from field_unit.models import Alert, Incident, db
from hub.client import HubError, HubUnreachableError
from hub.contract import EMERGENCY_REASONS, SummaryRequest
from mynacard.apdu import ApduProtocol
from mynacard.errors import (
    CardError,
    LastPinTryError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinBlockedError,
    ReaderUnavailableError,
    TransportError,
    WrongPinError,
)
from mynacard.jpki import AUTH_PIN_MAX_TRIES, JpkiSession, sha256_digest_info
from mynacard.transport import Connection, VirtualConnection

logger = logging.getLogger(__name__)

VIRTUAL_CARD_KEY = "field_unit_virtual_card"
_card_lock = threading.Lock()

# Next steps offered after a failure: action id -> button label.
NEXT_STEPS = {
    "retry": "もう一度読み取る",
    "without_card": "カードなしで続ける",
    "ask_pin": "暗証番号を聞く",
    "verbal": "口頭同意で進める",
    "wait": "通信回復を待つ",
}


class CardStepError(Exception):
    """A failure of the card step with Japanese text and the next steps to offer."""

    def __init__(self, user_message: str, next_steps: list[str], tries_left: int | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.next_steps = next_steps
        self.tries_left = tries_left


class LastPinTryConfirmationError(CardStepError):
    """One PIN try remains and the crew has not confirmed it, so the PIN was not sent to the card."""

    def __init__(self) -> None:
        super().__init__(LastPinTryError().user_message, ["ask_pin", "verbal", "without_card"], tries_left=1)


# Appended to every message that ends PIN consent, so the screen names the next step.
PIN_UNUSABLE_NEXT = "口頭同意で進めるか、カードなしで続けてください。"


@dataclass
class ReaderState:
    reader: bool
    card: bool
    message: str
    readers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"reader": self.reader, "card": self.card, "message": self.message, "readers": self.readers}


def open_connection() -> Connection:
    """Connect to the card: the configured virtual card, or the PC/SC reader."""
    virtual_dir = current_app.config.get("VIRTUAL_CARD_DIR")
    if virtual_dir:
        return VirtualConnection(_virtual_card(Path(virtual_dir)))

    from mynacard import pcsc

    return pcsc.connect(current_app.config.get("READER"))


@contextmanager
def card_connection() -> Iterator[Connection]:
    """Open the card connection while holding the card lock, so that one request at a time talks to the card."""
    with _card_lock, open_connection() as connection:
        yield connection


def _virtual_card(card_dir: Path) -> Any:
    from mynacard.virtual.card import VirtualCard

    cards = current_app.extensions.setdefault(VIRTUAL_CARD_KEY, {})
    if str(card_dir) not in cards:
        cards[str(card_dir)] = VirtualCard.from_dir(card_dir, latency=_virtual_card_latency())
    return cards[str(card_dir)]


def _virtual_card_latency() -> Any:
    """Return the virtual card's latency model from ``VIRTUAL_CARD_LATENCY``: a preset name, a model or None."""
    from mynacard.virtual.latency import PRESETS, LatencyModel

    setting = current_app.config.get("VIRTUAL_CARD_LATENCY")
    if setting is None or isinstance(setting, LatencyModel):
        return setting
    if setting not in PRESETS:
        raise ValueError(f"FIELD_VIRTUAL_CARD_LATENCY must be one of {sorted(PRESETS)}, got {setting!r}")
    return PRESETS[setting]


def reader_state() -> ReaderState:
    """Look at the reader and card without reading anything from the card."""
    if current_app.config.get("VIRTUAL_CARD_DIR"):
        return ReaderState(True, True, "カードが置かれています。", ["virtual"])

    from mynacard import pcsc

    try:
        readers = pcsc.list_readers()
    except CardError as exc:
        return ReaderState(False, False, exc.user_message)

    if not readers:
        return ReaderState(False, False, NoReaderError().user_message)

    if not _card_lock.acquire(blocking=False):
        return ReaderState(True, True, "カードを読み取り中です。", readers)

    try:
        with pcsc.connect(current_app.config.get("READER")):
            return ReaderState(True, True, "カードが置かれています。", readers)
    except CardError as exc:
        return ReaderState(True, False, exc.user_message, readers)
    finally:
        _card_lock.release()


def read_card(incident: Incident) -> None:
    """Check the card is a My Number Card and keep its 利用者証明用 certificate (sealed)."""
    _mark(incident, attempted=True, card_present=True)
    try:
        with _card_lock, open_connection() as connection:
            session = JpkiSession(ApduProtocol(connection))
            session.ensure_my_number_card()
            certificate = session.read_auth_certificate()
    except CardError as exc:
        _fail_card(incident, exc)

    incident.certificate = base64.b64encode(certificate).decode("ascii")
    incident.card_error = None
    _mark(incident, card_read=True)
    db.session.commit()
    logger.info("card read for incident %s", incident.id)


def pin_tries_left() -> int | None:
    """Remaining auth PIN tries, or None when the card cannot be asked."""
    try:
        with _card_lock, open_connection() as connection:
            session = JpkiSession(ApduProtocol(connection))
            session.ensure_my_number_card()
            return session.auth_pin_tries_left()
    except CardError as exc:
        logger.info("PIN tries not read: %s", type(exc).__name__)
        return None


def request_with_pin(incident: Incident, pin: str, *, confirm_last_try: bool = False) -> None:
    """PIN consent: the card signs the hub's challenge after the patient's PIN.

    Needs coverage because the challenge comes from the hub and expires. When one try
    remains, the PIN is sent only with ``confirm_last_try``; otherwise
    LastPinTryConfirmationError is raised and the card's counter is untouched.
    """
    try:
        client = hub_client()
        challenge = client.create_challenge()
    except HubUnreachableError as exc:
        raise CardStepError(
            "通信できないため、暗証番号による同意は使えません。口頭同意で進めるか、通信の回復を待ってください。",
            ["verbal", "wait", "without_card"],
        ) from exc
    except (HubError, NotRegisteredError) as exc:
        raise CardStepError(getattr(exc, "user_message", "ハブに接続できません。"), ["retry", "verbal", "without_card"]) from exc

    digest_info = sha256_digest_info(hashlib.sha256(base64.b64decode(challenge.challenge_b64)).digest())
    try:
        with _card_lock, open_connection() as connection:
            session = JpkiSession(ApduProtocol(connection))
            session.ensure_my_number_card()
            certificate = session.read_auth_certificate()
            session.verify_auth_pin(pin, confirm_last_try=confirm_last_try)
            signature = session.sign_with_auth_key(digest_info)
    except LastPinTryError as exc:
        raise LastPinTryConfirmationError() from exc
    except WrongPinError as exc:
        if exc.tries_left == 0:
            raise pin_blocked(exc.user_message) from exc
        raise CardStepError(exc.user_message, ["ask_pin", "verbal", "without_card"], tries_left=exc.tries_left) from exc
    except PinBlockedError as exc:
        raise pin_blocked(exc.user_message) from exc
    except CardError as exc:
        _fail_card(incident, exc)

    incident.certificate = base64.b64encode(certificate).decode("ascii")
    _mark(incident, card_read=True, consent_mode="pin")
    summary_request = SummaryRequest(
        certificate_der_b64=incident.certificate,
        consent_mode="pin",
        incident_id=incident.id,
        challenge_id=challenge.challenge_id,
        signature_b64=base64.b64encode(signature).decode("ascii"),
        request_id=summary_request_key(incident, "pin"),
    )
    _request_now(incident, client, summary_request)


def pin_blocked(card_message: str | None = None) -> CardStepError:
    """Return the failure shown when the PIN is blocked: the card's message and the way forward."""
    message = card_message or PinBlockedError().user_message
    return CardStepError(f"{message}{PIN_UNUSABLE_NEXT}", ["verbal", "without_card"], tries_left=0)


def request_without_pin(incident: Incident, consent_mode: str, emergency_reason: str | None) -> bool:
    """Verbal or emergency consent; queue the request when offline. Return True when the summary arrived now."""
    if consent_mode not in ("verbal", "emergency"):
        raise CardStepError("同意の方法を選んでください。", ["retry"])

    if consent_mode == "emergency" and emergency_reason not in EMERGENCY_REASONS:
        raise CardStepError("同意困難の理由を選んでください。", ["retry"])

    if not incident.certificate:
        read_card(incident)

    _mark(incident, consent_mode=consent_mode)
    incident.consent_mode = consent_mode
    incident.emergency_reason = emergency_reason if consent_mode == "emergency" else None
    summary_request = SummaryRequest(
        certificate_der_b64=incident.certificate or "",
        consent_mode=consent_mode,
        incident_id=incident.id,
        emergency_reason=incident.emergency_reason,
        request_id=summary_request_key(incident, consent_mode),
    )
    try:
        client = hub_client()
    except NotRegisteredError as exc:
        raise CardStepError("この端末はハブに登録されていません。端末登録を行ってください。", ["without_card"]) from exc

    return _request_now(incident, client, summary_request)


def summary_request_key(incident: Incident, consent_mode: str) -> str:
    """Return the idempotency key of the incident's open summary request, made and committed once.

    The key is reused until the summary arrives or the hub refuses, so a resend after a
    crash or a lost answer gets the same consent grant back. It names the consent mode
    because the hub refuses a key reused for another mode.
    """
    prefix = f"summary:{consent_mode}:"
    if incident.summary_request_id and incident.summary_request_id.startswith(prefix):
        return incident.summary_request_id

    incident.summary_request_id = prefix + uuid.uuid4().hex
    # Committed before sending: a crash after the hub's answer must not lose the key.
    db.session.commit()
    return incident.summary_request_id


def _request_now(incident: Incident, client: Any, summary_request: SummaryRequest) -> bool:
    try:
        summary = client.request_summary(summary_request)
    except HubUnreachableError:
        if summary_request.consent_mode == "pin":
            db.session.commit()
            raise CardStepError(
                "通信が切れたため、暗証番号による同意を完了できませんでした。口頭同意で進めるか、通信の回復を待ってください。",
                ["verbal", "wait", "without_card"],
            )
        _queue_request(incident, summary_request)
        return False
    except HubError as exc:
        _mark(incident, linked=False if exc.code == "unlinked_card" else None, viewed=False, stop_reason=exc.code)
        incident.card_error = exc.user_message
        # The hub refused this request: the crew's next attempt is a new request.
        incident.summary_request_id = None
        db.session.commit()
        raise CardStepError(exc.user_message, ["retry", "without_card"]) from exc

    incident.summary = summary.to_dict()
    incident.summary_pending = False
    incident.summary_request_id = None
    incident.consent_mode = summary.consent_mode
    incident.certificate = None
    incident.card_error = None
    _mark(incident, linked=True, viewed=True, stop_reason=None)
    db.session.commit()
    logger.info("summary stored for incident %s (consent %s)", incident.id, summary.consent_mode)
    return True


def _queue_request(incident: Incident, summary_request: SummaryRequest) -> None:
    # The outbox key is the request's own key, so the queued resend is the same request.
    outbox.enqueue("summary_request", summary_request.request_id or f"summary:{incident.id}:{summary_request.consent_mode}", summary_request.to_dict(), incident.id)
    incident.summary_pending = True
    incident.card_error = None
    db.session.add(
        Alert(incident_id=incident.id, level="info", message="通信圏外のため救急用サマリーの取得を予約しました。通信が回復すると自動で取得し、お知らせします。")
    )
    db.session.commit()
    logger.info("summary request for incident %s queued while offline", incident.id)


def continue_without_card(incident: Incident, stop_reason: str) -> None:
    _mark(incident, attempted=True, stop_reason=stop_reason)
    if stop_reason == "consent_refused":
        _mark(incident, consent_mode=None, viewed=False)
        incident.certificate = None
    db.session.commit()


def _fail_card(incident: Incident, exc: CardError) -> None:
    incident.card_error = exc.user_message
    if isinstance(exc, (NoCardError, NoReaderError, ReaderUnavailableError, TransportError)):
        steps = ["retry", "without_card"]
    elif isinstance(exc, NotMyNumberCardError):
        steps = ["without_card"]
        _mark(incident, card_read=False, stop_reason="not_my_number_card")
    else:
        steps = ["retry", "without_card"]
        _mark(incident, card_read=False, stop_reason="card_error")
    db.session.commit()
    logger.warning("card step failed for incident %s: %s", incident.id, type(exc).__name__)
    raise CardStepError(exc.user_message, steps) from exc


def _mark(incident: Incident, **steps: Any) -> None:
    incident.myna = {**(incident.myna or {}), **steps}


def max_pin_tries() -> int:
    return AUTH_PIN_MAX_TRIES
