"""The de-identified incident report for the fire department's statistics.

It carries no name, certificate or insurance number: an age band, sex, the timeline,
JCS, 傷病程度 (from the hospital's outcome when it has come back), the inquiries and
the マイナ救急 steps. The hub replaces an earlier report of the same incident, so it
is queued again whenever the incident changes after closing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from field_unit import observations, outbox, timeline, transfers
from field_unit.models import Incident, OutboxEvent, db, utcnow
from hub.contract import IncidentReport, Inquiry, MynaSteps


def build_report(incident: Incident) -> IncidentReport:
    summary = incident.summary or {}
    patient = summary.get("patient") or {}
    return IncidentReport(
        incident_id=incident.id,
        unit_name=incident.unit_name,
        reported_at=utcnow().isoformat(),
        age_band=age_band(patient.get("birth_date"), incident.created_at.date()),
        sex=patient.get("sex"),
        times=timeline.current_times(incident.id),
        jcs=observations.latest_value(incident.id, "jcs"),
        severity=_physician_severity(incident.id),
        inquiries=[
            Inquiry(hospital_code=row.hospital_code, asked_at=row.asked_at.isoformat(), result=row.result, reason=row.reason)
            for row in transfers.inquiries(incident.id)
        ],
        myna=MynaSteps.from_dict(incident.myna or {}),
    )


def queue_report(incident: Incident) -> None:
    """Queue the current report; each version has its own idempotency key."""
    version = db.session.scalar(
        db.select(db.func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == "incident_report", OutboxEvent.incident_id == incident.id)
    )
    outbox.enqueue("incident_report", f"report:{incident.id}:{(version or 0) + 1}", build_report(incident).to_dict(), incident.id)


def age_band(birth_date: str | None, on: date) -> str | None:
    """Ten-year band such as ``"80-89"``; None when the birth date is unknown."""
    if not birth_date:
        return None

    born = date.fromisoformat(birth_date)
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    low = (age // 10) * 10
    return f"{low}-{low + 9}"


def _physician_severity(incident_id: str) -> str | None:
    for packet in transfers.packets(incident_id):
        for answer in (packet.answers or {}).values():
            outcome: dict[str, Any] | None = answer.get("outcome")
            if outcome:
                return outcome["severity"]
    return None
