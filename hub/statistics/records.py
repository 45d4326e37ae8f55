"""The de-identified incident frame: one row per incident, the input of every statistic.

The frame contains no name, certificate or insurance number. Its columns are listed
in :data:`FRAME_COLUMNS`. Times are timezone-aware UTC timestamps, NaT when not
recorded. ``inquiry_count`` is a nullable integer, missing when the source did not
record it. The マイナ救急 (My Number Card in EMS) steps are booleans where only a
recorded ``True`` counts as reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from hub.contract import TIMELINE_KEYS

# The timeline columns that the FDMA intervals use.
TIME_COLUMNS = ("call_received", "arrived_scene", "departed_scene", "handover")

TEXT_COLUMNS = (
    "incident_id",
    "source",
    "station",
    "unit",
    "age_band",
    "sex",
    "jcs",
    "severity",
    "myna_consent_mode",
    "myna_stop_reason",
)

MYNA_STEP_COLUMNS = ("myna_attempted", "myna_card_present", "myna_card_read", "myna_linked", "myna_viewed")

FRAME_COLUMNS = (*TEXT_COLUMNS, "reported_at", *TIME_COLUMNS, "inquiry_count", *MYNA_STEP_COLUMNS)


def empty_frame() -> pd.DataFrame:
    """Return a frame with every column and no rows, with the right dtypes."""
    return normalize_frame(pd.DataFrame({column: [] for column in FRAME_COLUMNS}))


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to the column set and dtypes of :data:`FRAME_COLUMNS`.

    Missing columns are added as missing values. Times are parsed as UTC;
    naive times are taken to be UTC already.
    """
    result = pd.DataFrame(index=frame.index)
    for column in TEXT_COLUMNS:
        values = frame[column] if column in frame else pd.Series(None, index=frame.index, dtype=object)
        result[column] = values.astype("string")

    for column in ("reported_at", *TIME_COLUMNS):
        values = frame[column] if column in frame else pd.Series(pd.NaT, index=frame.index)
        result[column] = pd.to_datetime(values, utc=True, format="ISO8601")

    counts = frame["inquiry_count"] if "inquiry_count" in frame else pd.Series(None, index=frame.index, dtype=object)
    result["inquiry_count"] = pd.to_numeric(counts).astype("Int64")

    for column in MYNA_STEP_COLUMNS:
        values = frame[column] if column in frame else pd.Series(False, index=frame.index)
        result[column] = values.astype("boolean").fillna(False).astype(bool)

    return result


def frame_from_payloads(rows: Iterable[tuple[dict[str, Any], str | None]]) -> pd.DataFrame:
    """Build the frame from IncidentReport payloads, each with its station (or None).

    The station is not part of the report, so the caller looks it up from the
    unit-to-station map.
    """
    records = [_flatten_payload(payload, station) for payload, station in rows]
    if not records:
        return empty_frame()

    return normalize_frame(pd.DataFrame.from_records(records))


def _flatten_payload(payload: dict[str, Any], station: str | None) -> dict[str, Any]:
    times = payload.get("times") or {}
    myna = payload.get("myna") or {}
    record: dict[str, Any] = {
        "incident_id": payload.get("incident_id"),
        "source": "hub",
        "station": station,
        "unit": payload.get("unit_name"),
        "age_band": payload.get("age_band"),
        "sex": payload.get("sex"),
        "jcs": payload.get("jcs"),
        "severity": payload.get("severity"),
        "reported_at": payload.get("reported_at"),
        "inquiry_count": len(payload.get("inquiries") or []),
        "myna_attempted": bool(myna.get("attempted")),
        "myna_card_present": myna.get("card_present") is True,
        "myna_card_read": myna.get("card_read") is True,
        "myna_linked": myna.get("linked") is True,
        "myna_viewed": myna.get("viewed") is True,
        "myna_consent_mode": myna.get("consent_mode"),
        "myna_stop_reason": myna.get("stop_reason"),
    }
    for key in TIMELINE_KEYS:
        if key in TIME_COLUMNS:
            record[key] = times.get(key)

    return record
