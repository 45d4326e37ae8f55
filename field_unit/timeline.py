"""The incident timeline: one-tap time stamps, and corrections that keep the original.

A stamp is never updated. A correction is a new row whose ``replaces_id`` points at
the stamp it corrects, so the first value and every later one stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from field_unit.models import TimelineStamp, db, utcnow
from hub.contract import TIMELINE_KEYS

TIMELINE_LABELS = {
    "call_received": "入電",
    "dispatched": "出動",
    "arrived_scene": "現場到着",
    "patient_contact": "傷病者接触",
    "departed_scene": "現場出発",
    "arrived_hospital": "病院到着",
    "handover": "医師引継ぎ",
}


class TimelineError(ValueError):
    def __init__(self, message: str, user_message: str) -> None:
        super().__init__(message)
        self.user_message = user_message


@dataclass
class TimelineEntry:
    key: str
    label: str
    current: TimelineStamp | None = None
    history: list[TimelineStamp] = field(default_factory=list)


def stamp(incident_id: str, key: str, recorded_by: str = "", at: datetime | None = None) -> TimelineStamp:
    """Record the time of ``key`` now (or ``at``); a second tap on a set key is refused."""
    if key not in TIMELINE_KEYS:
        raise TimelineError(f"unknown timeline key {key}", "不明な時刻の項目です。")

    if _current_stamps(incident_id).get(key) is not None:
        raise TimelineError(f"{key} already stamped", f"{TIMELINE_LABELS[key]}の時刻は記録済みです。変更は「修正」から行ってください。")

    row = TimelineStamp(incident_id=incident_id, key=key, stamped_at=at or utcnow(), recorded_by=recorded_by)
    db.session.add(row)
    db.session.commit()
    return row


def correct(incident_id: str, stamp_id: int, new_time: datetime, recorded_by: str = "") -> TimelineStamp:
    """Record a corrected time for a stamp; the stamp it replaces stays as it was."""
    original = db.session.get(TimelineStamp, stamp_id)
    if original is None or original.incident_id != incident_id:
        raise TimelineError(f"stamp {stamp_id} not found", "修正する時刻が見つかりません。画面を開き直してください。")

    if new_time > utcnow():
        raise TimelineError("correction in the future", "未来の時刻には修正できません。")

    row = TimelineStamp(
        incident_id=incident_id,
        key=original.key,
        stamped_at=new_time,
        replaces_id=original.id,
        recorded_by=recorded_by,
    )
    db.session.add(row)
    db.session.commit()
    return row


def entries(incident_id: str) -> list[TimelineEntry]:
    """The timeline in FDMA order, each key with its current stamp and all earlier values."""
    rows = _rows(incident_id)
    replaced = {row.replaces_id for row in rows if row.replaces_id is not None}
    result = []
    for key in TIMELINE_KEYS:
        own = [row for row in rows if row.key == key]
        current = next((row for row in reversed(own) if row.id not in replaced), None)
        result.append(TimelineEntry(key, TIMELINE_LABELS[key], current, [row for row in own if row is not current]))
    return result


def current_times(incident_id: str) -> dict[str, str | None]:
    return {key: (row.stamped_at.isoformat() if row else None) for key, row in _current_stamps(incident_id).items()}


def _current_stamps(incident_id: str) -> dict[str, TimelineStamp | None]:
    return {entry.key: entry.current for entry in entries(incident_id)}


def _rows(incident_id: str) -> list[TimelineStamp]:
    return list(db.session.execute(db.select(TimelineStamp).where(TimelineStamp.incident_id == incident_id).order_by(TimelineStamp.id)).scalars())
