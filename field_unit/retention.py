"""Deletion of medical data from the tablet after handover plus the retention time.

Purging clears the sealed columns (summary, certificate, chief complaint, address,
vitals, packet payloads) and keeps the de-identified rows: timeline, inquiries, steps.
An incident whose outbox events are still pending is kept until they are sent, so a
purge never drops data the hub has not received.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from field_unit.models import Incident, Observation, OutboxEvent, SentPacket, TimelineStamp, db, utcnow

logger = logging.getLogger(__name__)


def purge_expired() -> list[str]:
    """Purge every incident handed over (or closed) more than RETENTION_MINUTES ago; return their ids."""
    cutoff = utcnow() - timedelta(minutes=current_app.config["RETENTION_MINUTES"])
    purged = []
    for incident in db.session.execute(db.select(Incident).where(Incident.purged_at.is_(None))).scalars():
        ended = _ended_at(incident)
        if ended is None or ended > cutoff or _has_pending_events(incident.id):
            continue

        purge(incident)
        purged.append(incident.id)

    db.session.commit()
    return purged


def purge(incident: Incident) -> None:
    incident.summary = None
    incident.certificate = None
    incident.chief_complaint = None
    incident.scene_address = None
    incident.card_error = None
    incident.purged_at = utcnow()
    db.session.execute(db.update(Observation).where(Observation.incident_id == incident.id).values(values=None))
    db.session.execute(db.update(SentPacket).where(SentPacket.incident_id == incident.id).values(payload=None))
    logger.info("medical data of incident %s purged", incident.id)


def _ended_at(incident: Incident):  # type: ignore[no-untyped-def]
    handover = db.session.execute(
        db.select(db.func.max(TimelineStamp.stamped_at)).where(TimelineStamp.incident_id == incident.id, TimelineStamp.key == "handover")
    ).scalar()
    candidates = [value for value in (handover, incident.closed_at) if value is not None]
    return min(candidates) if candidates else None


def _has_pending_events(incident_id: str) -> bool:
    return db.session.execute(
        db.select(OutboxEvent.seq).where(OutboxEvent.incident_id == incident_id, OutboxEvent.status == "pending").limit(1)
    ).first() is not None
