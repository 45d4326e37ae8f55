"""Local storage of the field unit (SQLite on the tablet)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Incident(db.Model):  # type: ignore[name-defined]
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    chief_complaint: Mapped[str] = mapped_column(String(200), default="")
    scene_latitude: Mapped[float | None]
    scene_longitude: Mapped[float | None]
    consent_mode: Mapped[str | None] = mapped_column(String(16))
    # NOTE: held in plain SQLite for now; encryption at rest and purge after
    # handover are the field-unit issue's work.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    card_error: Mapped[str | None] = mapped_column(String(300))


class SentPacket(db.Model):  # type: ignore[name-defined]
    """A transfer packet as sent, kept so a retry reuses the same idempotency key."""

    __tablename__ = "sent_packets"

    packet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
