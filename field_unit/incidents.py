"""Opening, reading and closing incidents, shared by the screens and the JSON API."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import abort, current_app

from field_unit import card_face, reports
from field_unit.hospitals import Candidate, CandidateFilter, cached_hospitals, rank_candidates, refresh_hospital_cache
from field_unit.hub_link import NotRegisteredError, hub_client
from field_unit.models import Alert, Incident, OutboxEvent, db, utcnow
from field_unit.text_input import valid_coordinates
from hub.client import HubError

logger = logging.getLogger(__name__)

DEFAULT_SCENE = (43.0687, 141.3508)


def open_incident(unit_name: str, chief_complaint: str = "", latitude: float | None = None, longitude: float | None = None) -> Incident:
    incident = Incident(
        id=str(uuid.uuid4()),
        unit_name=unit_name,
        chief_complaint=chief_complaint or None,
        scene_latitude=latitude,
        scene_longitude=longitude,
        myna={},
    )
    db.session.add(incident)
    db.session.commit()
    logger.info("incident %s opened", incident.id)
    return incident


def incident_or_404(incident_id: str) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        abort(404)
    return incident


def close_incident(incident: Incident) -> None:
    """Close the incident and queue its report; medical data stays until the retention time ends."""
    if incident.closed_at is None:
        incident.closed_at = utcnow()
    card_face.forget_view(incident.id)
    reports.queue_report(incident)
    db.session.commit()


def candidates_for(incident: Incident, limit: int = 10, need: CandidateFilter = CandidateFilter()) -> tuple[list[Candidate], str | None]:
    """Ranked hospitals from the cache (filled from the hub when empty) and a Japanese error, if any."""
    hospitals = cached_hospitals()
    error = None
    if not hospitals:
        try:
            refresh_hospital_cache(hub_client())
            hospitals = cached_hospitals()
        except (HubError, NotRegisteredError) as exc:
            error = getattr(exc, "user_message", "病院一覧を取得できません。") + " 病院一覧がまだ端末にありません。"

    visited = {visit["hospital_code"] for visit in (incident.summary or {}).get("visits", [])}
    latitude, longitude = scene_of(incident)
    return rank_candidates(hospitals, latitude, longitude, visited, limit, need), error


def scene_of(incident: Incident) -> tuple[float, float]:
    """The scene, or the default one when none or an impossible point (inf, nan) was stored earlier."""
    latitude, longitude = incident.scene_latitude, incident.scene_longitude
    if latitude is not None and longitude is not None and valid_coordinates(latitude, longitude):
        return latitude, longitude
    return DEFAULT_SCENE


def unit_name() -> str:
    from field_unit.crew import active_shift

    shift = active_shift()
    return shift.unit_name if shift is not None else current_app.config["UNIT_NAME"]


def status_dict() -> dict[str, Any]:
    from field_unit import outbox

    state = outbox.sync_state()
    db.session.commit()
    alerts = db.session.execute(db.select(Alert).where(Alert.acknowledged.is_(False)).order_by(Alert.id.desc()).limit(5)).scalars()
    rejected = db.session.scalar(db.select(db.func.count()).select_from(OutboxEvent).where(OutboxEvent.status == "rejected"))
    return {
        "connection": state.connection,
        "queue_length": outbox.pending_count(),
        "rejected": rejected or 0,
        "last_sync_at": state.last_sync_at.isoformat() if state.last_sync_at else None,
        "next_attempt_at": state.next_attempt_at.isoformat() if state.next_attempt_at else None,
        "alerts": [{"id": a.id, "level": a.level, "message": a.message, "incident_id": a.incident_id} for a in alerts],
    }
