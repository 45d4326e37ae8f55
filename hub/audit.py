"""The hub's audit log: append-only and hash-chained.

Each row stores the hash of the row before it and a SHA-256 over its own
fields plus that previous hash, so editing or deleting any row breaks the
chain from that row on. :func:`commit_with_audit` adds the audit row to the
caller's pending changes and commits both in one transaction: a read of
patient data is never committed without its row.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text

from hub.models import AuditEvent, db

GENESIS_HASH = "0" * 64

# The process-wide lock keeps the chain linear among this process's threads. On
# PostgreSQL a transaction-scoped advisory lock does the same across hub processes.
# On SQLite across processes, the unique previous_hash column makes a racing append
# fail instead of forking the chain.
_chain_lock = threading.Lock()
AUDIT_CHAIN_LOCK_KEY = 0x61756474


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    organization_code: str
    patient_id: int | None
    action: str
    legal_basis: str
    detail: dict[str, Any]


def commit_with_audit(entry: AuditEntry) -> AuditEvent:
    """Append ``entry`` to the chain and commit it with the session's other changes."""
    with _chain_lock:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY})

        previous = db.session.execute(
            db.select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar()
        event = AuditEvent(
            occurred_at=datetime.now(timezone.utc),
            actor=entry.actor,
            organization_code=entry.organization_code,
            patient_id=entry.patient_id,
            action=entry.action,
            legal_basis=entry.legal_basis,
            detail=entry.detail,
            previous_hash=previous or GENESIS_HASH,
        )
        event.row_hash = row_hash(event)
        db.session.add(event)
        db.session.commit()

    return event


def row_hash(event: AuditEvent) -> str:
    """SHA-256 over the row's content fields and the previous row's hash."""
    content = {
        "occurred_at": _utc_text(event.occurred_at),
        "actor": event.actor,
        "organization_code": event.organization_code,
        "patient_id": event.patient_id,
        "action": event.action,
        "legal_basis": event.legal_basis,
        "detail": event.detail,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def first_broken_row() -> int | None:
    """Walk the chain in order; return the id of the first row that fails, or None."""
    expected_previous = GENESIS_HASH
    for event in db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars():
        if event.previous_hash != expected_previous or row_hash(event) != event.row_hash:
            return event.id

        expected_previous = event.row_hash

    return None


def _utc_text(moment: datetime) -> str:
    # SQLite hands datetimes back without a zone; they were stored in UTC.
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)

    return moment.isoformat(timespec="microseconds")
