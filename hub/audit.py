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
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, String, bindparam, func, insert, select, text

from hub.models import AuditEvent, db

GENESIS_HASH = "0" * 64

# The process-wide lock keeps the chain linear among this process's threads. On
# PostgreSQL a transaction-scoped advisory lock does the same across hub processes.
# On SQLite across processes, the unique previous_hash column makes a racing append
# fail instead of forking the chain.
_chain_lock = threading.Lock()
AUDIT_CHAIN_LOCK_KEY = 0x61756474

# The row hash this process last committed, per database engine. It is a hint
# that saves reading the head before each append, never trusted on its own:
# the append checks it against the table in the same statement.
_known_heads: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    organization_code: str
    patient_id: int | None
    action: str
    legal_basis: str
    detail: dict[str, Any]


def commit_with_audit(entry: AuditEntry) -> None:
    """Append ``entry`` to the chain and commit it with the session's other changes.

    Round trips matter here (every summary request ends with this), so the
    append is one statement when this process knows the chain head:

    - On PostgreSQL the advisory lock is its own statement and comes first. It
      cannot share a statement with the append: in READ COMMITTED a statement
      reads with the snapshot taken when it started, so a head read inside the
      statement that waited for the lock would miss the row its holder committed.
    - The append is ``INSERT ... SELECT ... WHERE <current head> = <known head>``:
      it checks the head and inserts in one statement, after the lock. When the
      known head is stale (another process appended, or another database), it
      inserts nothing; then the head is read and the append runs again.
    - The session's pending changes (a grant, transfers) are flushed before the
      append and committed with it, so no read of patient data is committed
      without its audit row.
    """
    engine = db.session.get_bind()
    with _chain_lock:
        if engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY})

        event = _new_event(entry, _known_heads.get(engine) or _chain_head())
        if not _append_if_head_is(event):
            event = _new_event(entry, _chain_head())
            if not _append_if_head_is(event):
                raise RuntimeError("audit chain head changed while the chain lock was held")

        db.session.commit()
        _known_heads[engine] = event.row_hash


def _new_event(entry: AuditEntry, previous_hash: str) -> AuditEvent:
    event = AuditEvent(
        occurred_at=datetime.now(timezone.utc),
        actor=entry.actor,
        organization_code=entry.organization_code,
        patient_id=entry.patient_id,
        action=entry.action,
        legal_basis=entry.legal_basis,
        detail=entry.detail,
        previous_hash=previous_hash,
    )
    event.row_hash = row_hash(event)
    return event


def _chain_head() -> str:
    return db.session.execute(_HEAD_QUERY).scalar() or GENESIS_HASH


_AUDIT_COLUMNS = [column for column in AuditEvent.__table__.columns if column.name != "id"]
_HEAD_QUERY = select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)
_APPEND_IF_HEAD_IS = insert(AuditEvent.__table__).from_select(
    [column.name for column in _AUDIT_COLUMNS],
    select(*(bindparam(column.name, type_=column.type) for column in _AUDIT_COLUMNS)).where(
        func.coalesce(_HEAD_QUERY.scalar_subquery(), GENESIS_HASH) == bindparam("expected_head", type_=String)
    ),
).returning(AuditEvent.__table__.c.id)


def _append_if_head_is(event: AuditEvent) -> bool:
    """Insert ``event`` only if the chain's head is its previous hash, and return whether it was inserted."""
    values = {column.name: getattr(event, column.key) for column in _AUDIT_COLUMNS}
    result = db.session.execute(_APPEND_IF_HEAD_IS, {**values, "expected_head": event.previous_hash})
    # RETURNING rather than rowcount: psycopg reports -1 for INSERT ... SELECT.
    return result.first() is not None


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
