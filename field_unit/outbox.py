"""The outbox: messages for the hub, stored first and sent in order with backoff.

Delivery is at least once. An event is marked done in the same commit as its local
effects, after the hub answered; a crash between the hub's answer and that commit
sends the event again on restart. Every kind is therefore sent with an idempotency
key that the hub honours: transfers by ``packet_id``, incident reports by
``incident_id`` and summary requests by ``request_id``, which is the event's own key.

The head of the queue blocks the rest while the hub is unreachable or failing (5xx),
so events leave in the order they were made. An event that the hub rejects as invalid
(4xx) is set aside as ``rejected`` with an alert, so it cannot block the queue forever.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from field_unit.hub_link import NotRegisteredError, hub_client
from field_unit.models import Alert, Incident, OutboxEvent, SentPacket, SyncState, db, utcnow
from field_unit.text_input import contract_message
from hub.client import HubClient, HubError, HubUnreachableError
from hub.contract import ContractError, IncidentReport, Summary, SummaryRequest, TransferPacket

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
_drain_lock = threading.Lock()


@dataclass
class DrainResult:
    sent: int = 0
    rejected: int = 0
    stopped_by: str | None = None


def enqueue(kind: str, idempotency_key: str, payload: dict[str, Any], incident_id: str | None = None) -> None:
    """Add an event unless one with the same key exists; the caller commits."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown outbox event kind: {kind}")

    statement = sqlite_insert(OutboxEvent).values(
        idempotency_key=idempotency_key,
        kind=kind,
        incident_id=incident_id,
        payload=payload,
        status="pending",
        attempts=0,
        created_at=utcnow(),
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["idempotency_key"]))


def pending_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(OutboxEvent).where(OutboxEvent.status == "pending")) or 0


def sync_state() -> SyncState:
    state = db.session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1, connection="unknown", failures=0)
        db.session.add(state)
        db.session.flush()

    return state


def drain(force: bool = False, limit: int | None = None) -> DrainResult:
    """Send pending events in order until the queue is empty, the hub fails or ``limit`` is reached.

    ``force`` ignores the backoff delay (the crew's 今すぐ送信 button). Returns at once
    when another thread is draining.
    """
    if not _drain_lock.acquire(blocking=False):
        return DrainResult(stopped_by="busy")

    try:
        return _drain_locked(force, limit)
    finally:
        _drain_lock.release()


def _drain_locked(force: bool, limit: int | None) -> DrainResult:
    result = DrainResult()
    state = sync_state()
    now = utcnow()
    if not force and state.next_attempt_at is not None and now < state.next_attempt_at:
        result.stopped_by = "backoff"
        return result

    try:
        client = hub_client()
    except NotRegisteredError:
        result.stopped_by = "not_registered"
        return result

    while limit is None or result.sent + result.rejected < limit:
        event = db.session.execute(
            db.select(OutboxEvent).where(OutboxEvent.status == "pending").order_by(OutboxEvent.seq).limit(1)
        ).scalar_one_or_none()
        if event is None:
            break

        outcome = _send_one(client, event)
        if outcome == "failed":
            result.stopped_by = "hub_failed"
            break

        if outcome == "sent":
            result.sent += 1
        else:
            result.rejected += 1

    return result


def _send_one(client: HubClient, event: OutboxEvent) -> str:
    """Send one event and commit its result; return sent, rejected or failed."""
    handler = HANDLERS[event.kind]
    event.attempts += 1
    try:
        handler(client, event.payload or {}, event)
    except HubUnreachableError as exc:
        _record_failure(event, f"unreachable ({exc.reason})")
        return "failed"
    except HubError as exc:
        if exc.status >= 500 or exc.status == 429:
            _record_failure(event, f"HTTP {exc.status} {exc.code}")
            return "failed"

        _reject(event, exc.code, exc.user_message)
        return "rejected"
    except ContractError as exc:
        _reject(event, "contract", contract_message(exc))
        return "rejected"

    event.status = "done"
    event.done_at = utcnow()
    event.payload = None
    _record_success()
    db.session.commit()
    logger.info("outbox event %d (%s) sent", event.seq, event.kind)
    return "sent"


def _record_success() -> None:
    state = sync_state()
    state.connection = "online"
    state.failures = 0
    state.last_sync_at = utcnow()
    state.last_attempt_at = state.last_sync_at
    state.next_attempt_at = None


def _record_failure(event: OutboxEvent, reason: str) -> None:
    db.session.rollback()
    event = db.session.get(OutboxEvent, event.seq)
    event.attempts += 1
    event.last_error = reason[:300]
    state = sync_state()
    state.connection = "offline"
    state.failures += 1
    state.last_attempt_at = utcnow()
    state.next_attempt_at = state.last_attempt_at + timedelta(seconds=backoff_seconds(state.failures))
    db.session.commit()
    logger.warning("outbox event %d (%s) not sent: %s; retry in %s", event.seq, event.kind, reason, state.next_attempt_at - state.last_attempt_at)


def backoff_seconds(failures: int, jitter: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: 1, 2, 4 ... s, capped at BACKOFF_MAX_SECONDS, times 0.5 to 1."""
    cap = float(current_app.config["BACKOFF_MAX_SECONDS"])
    delay = min(cap, BACKOFF_BASE_SECONDS * 2 ** max(0, failures - 1))
    return delay * (0.5 + jitter() / 2)


def _reject(event: OutboxEvent, code: str, user_message: str) -> None:
    db.session.rollback()
    event = db.session.get(OutboxEvent, event.seq)
    event.attempts += 1
    event.status = "rejected"
    event.last_error = f"{code}: {user_message}"[:300]
    db.session.add(Alert(incident_id=event.incident_id, level="error", message=_rejection_message(event.kind, user_message)))
    if event.kind == "transfer":
        # The packet will never leave on its own, so the screen must show it as failed, not "送信待ち".
        packet = db.session.get(SentPacket, event.idempotency_key)
        if packet is not None:
            packet.status = "rejected"
    if event.kind == "summary_request" and event.incident_id:
        incident = db.session.get(Incident, event.incident_id)
        if incident is not None:
            incident.summary_pending = False
            incident.summary_request_id = None
            incident.card_error = user_message

    _record_success()
    db.session.commit()
    logger.error("outbox event %d (%s) rejected by the hub: %s", event.seq, event.kind, code)


def _rejection_message(kind: str, user_message: str) -> str:
    what = {"transfer": "搬送連絡", "incident_report": "活動記録", "summary_request": "救急用サマリーの取得"}.get(kind, "送信")
    next_step = " 病院選定の画面で内容を確認して再送信してください。" if kind == "transfer" else ""
    return f"{what}を送信できませんでした: {user_message}{next_step}"


def _send_transfer(client: HubClient, payload: dict[str, Any], event: OutboxEvent) -> None:
    packet_row = db.session.get(SentPacket, payload["packet_id"])
    payload = _with_latest_summary(payload, event.incident_id)
    views = client.send_transfer(TransferPacket.from_dict(payload))
    if packet_row is not None:
        packet_row.status = "sent"
        packet_row.answers = {view.hospital_code: {"status": view.status, "reason": view.status_reason, "name": view.hospital_name} for view in views}


def _with_latest_summary(payload: dict[str, Any], incident_id: str | None) -> dict[str, Any]:
    """Attach a summary that arrived after the packet was queued offline; the packet id stays."""
    if payload.get("summary") or incident_id is None:
        return payload

    incident = db.session.get(Incident, incident_id)
    if incident is None or not incident.summary:
        return payload

    return {**payload, "summary": incident.summary, "grant_id": incident.summary["grant_id"]}


def _send_incident_report(client: HubClient, payload: dict[str, Any], event: OutboxEvent) -> None:
    client.send_incident_report(IncidentReport.from_dict(payload))


def _send_summary_request(client: HubClient, payload: dict[str, Any], event: OutboxEvent) -> None:
    """Ask for a summary queued while offline, store it and alert the crew.

    The request carries the event's key as ``request_id``, so a resend after a crash
    between the hub's answer and the local commit gets the same consent grant back.
    """
    summary_request = SummaryRequest.from_dict({**payload, "request_id": event.idempotency_key})
    summary: Summary = client.request_summary(summary_request)
    incident = db.session.get(Incident, payload["incident_id"])
    if incident is None:
        return

    incident.summary = summary.to_dict()
    incident.summary_pending = False
    incident.summary_request_id = None
    incident.consent_mode = summary.consent_mode
    incident.card_error = None
    incident.certificate = None
    incident.myna = {**(incident.myna or {}), "linked": True, "viewed": True, "stop_reason": None}
    db.session.add(Alert(incident_id=incident.id, level="success", message="通信が回復し、救急用サマリーを取得しました。サマリー画面で確認してください。"))


HANDLERS: dict[str, Callable[[HubClient, dict[str, Any], OutboxEvent], None]] = {
    "transfer": _send_transfer,
    "incident_report": _send_incident_report,
    "summary_request": _send_summary_request,
}
