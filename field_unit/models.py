"""Local storage of the field unit: SQLite on the tablet, patient data sealed at rest.

Every crew action is committed here before anything goes to the hub, so killing
the app loses at most the action whose commit had not returned. Columns of type
:class:`~field_unit.crypto.SealedJSON` hold patient data and are AES-GCM sealed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from field_unit.crypto import SealedJSON


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; SQLite drops the offset, so it is put back on read."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")

        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=FULL: a committed row survives SIGKILL and power loss."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class Incident(db.Model):  # type: ignore[name-defined]
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    unit_name: Mapped[str] = mapped_column(String(100), default="")
    chief_complaint: Mapped[str | None] = mapped_column(SealedJSON("incidents.chief_complaint"))
    scene_latitude: Mapped[float | None]
    scene_longitude: Mapped[float | None]
    scene_address: Mapped[str | None] = mapped_column(SealedJSON("incidents.scene_address"))
    severity_estimate: Mapped[str | None] = mapped_column(String(16))
    consent_mode: Mapped[str | None] = mapped_column(String(16))
    emergency_reason: Mapped[str | None] = mapped_column(String(32))
    # DER certificate (base64) read from the card, kept until the summary request succeeds.
    certificate: Mapped[str | None] = mapped_column(SealedJSON("incidents.certificate"))
    summary: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("incidents.summary"))
    summary_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # Idempotency key of the open summary request (hub.contract.SummaryRequest.request_id),
    # kept until the summary arrives or the hub refuses, so a resend gets the same grant.
    summary_request_id: Mapped[str | None] = mapped_column(String(64))
    card_error: Mapped[str | None] = mapped_column(String(300))
    # マイナ救急 steps as FDMA counts them (hub.contract.MynaSteps fields); no patient data.
    myna: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TimelineStamp(db.Model):  # type: ignore[name-defined]
    """One time stamp of the incident timeline; a correction is a new row pointing at the one it replaces."""

    __tablename__ = "timeline_stamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    stamped_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_stamps.id"))
    recorded_by: Mapped[str] = mapped_column(String(100), default="")


class Observation(db.Model):  # type: ignore[name-defined]
    """One set of vitals and observations (JCS, GCS, BP, HR, RR, SpO2, BT, pupils)."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    values: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("observations.values"))


class InquiryLog(db.Model):  # type: ignore[name-defined]
    """One 照会 (inquiry) to a hospital with its result: accepted, declined with an FDMA reason, or no answer."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    hospital_code: Mapped[str] = mapped_column(String(32))
    hospital_name: Mapped[str] = mapped_column(String(200), default="")
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    # The hub's transfer id when the answer came back through the hub, so it is logged once.
    transfer_id: Mapped[str | None] = mapped_column(String(36), unique=True)


class SentPacket(db.Model):  # type: ignore[name-defined]
    """A transfer packet as queued; its packet_id is the hub's idempotency key."""

    __tablename__ = "sent_packets"

    packet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    hospital_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("sent_packets.payload"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Answers of the hospitals as last read from the hub: {code: {status, reason, name}}.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxEvent(db.Model):  # type: ignore[name-defined]
    """A message waiting for the hub. ``seq`` is the sending order."""

    __tablename__ = "outbox"
    # The drain reads the head (lowest seq among pending) once per event. Without this
    # index SQLite sorts every pending row each time, so a 10,000-event drain was quadratic.
    __table_args__ = (Index("ix_outbox_status_seq", "status", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON("outbox.payload"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SyncState(db.Model):  # type: ignore[name-defined]
    """The single row of connection state shown on every screen."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection: Mapped[str] = mapped_column(String(16), default="unknown")
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class Alert(db.Model):  # type: ignore[name-defined]
    """A message for the crew raised in the background (summary arrived, event rejected)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str | None] = mapped_column(String(36))
    message: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16), default="info")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)


class CachedHospital(db.Model):  # type: ignore[name-defined]
    """The hub's hospital list, kept so that hospital selection works without coverage."""

    __tablename__ = "hospital_cache"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CrewShift(db.Model):  # type: ignore[name-defined]
    """One crew's sign-in for a shift; the unlock code is stored only as a PBKDF2 hash."""

    __tablename__ = "crew_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_name: Mapped[str] = mapped_column(String(100))
    leader_name: Mapped[str] = mapped_column(String(100))
    members: Mapped[str] = mapped_column(String(300), default="")
    unlock_hash: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeviceRegistration(db.Model):  # type: ignore[name-defined]
    """The hub this tablet talks to and its bearer token (sealed)."""

    __tablename__ = "device_registration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hub_url: Mapped[str] = mapped_column(String(300))
    token: Mapped[str | None] = mapped_column(SealedJSON("device_registration.token"))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
