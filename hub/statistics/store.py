"""Loading one fire department's incident frame from the database.

Every query here filters by the fire department code it is given, so a caller
that passes the signed-in administrator's department gets figures of that department only.
"""

from __future__ import annotations

import pandas as pd

from hub.models import IncidentReport, Organization, db
from hub.statistics.models import StatActivityRecord, StatUnitStation
from hub.statistics.records import FRAME_COLUMNS, frame_from_payloads, normalize_frame


def unit_stations(department_code: str) -> dict[str, str]:
    """Return unit name → station name for one department."""
    rows = db.session.execute(
        db.select(StatUnitStation.unit_name, StatUnitStation.station_name).where(
            StatUnitStation.fire_department_code == department_code
        )
    )
    return {unit: station for unit, station in rows}


def set_unit_station(department_code: str, unit_name: str, station_name: str) -> None:
    row = db.session.execute(
        db.select(StatUnitStation).where(
            StatUnitStation.fire_department_code == department_code, StatUnitStation.unit_name == unit_name
        )
    ).scalar_one_or_none()
    if row is None:
        row = StatUnitStation(fire_department_code=department_code, unit_name=unit_name)
        db.session.add(row)

    row.station_name = station_name
    db.session.commit()


def department_organizations(department_code: str) -> dict[str, str | None]:
    """Return the department and every organization under it, each with its station name.

    Devices may belong to the department itself or to a station or unit below
    it (``parent_code``), and reports carry the device's organization code. The
    station name is the organization's own name when it is a station, else
    that of its nearest station above, else None.
    """
    stations: dict[str, str | None] = {department_code: None}
    frontier = [department_code]
    while frontier:
        children = db.session.execute(
            db.select(Organization.code, Organization.kind, Organization.name, Organization.parent_code).where(
                Organization.parent_code.in_(frontier)
            )
        ).all()
        frontier = []
        for child in children:
            if child.code in stations:  # a cycle in parent_code; each code is visited once
                continue

            stations[child.code] = child.name if child.kind == "station" else stations[child.parent_code]
            frontier.append(child.code)

    return stations


def hub_frame(department_code: str) -> pd.DataFrame:
    """Return the incidents that the department's field units sent to the hub.

    The station comes from the unit-to-station map, else from the organization tree.
    """
    mapped = unit_stations(department_code)
    organizations = department_organizations(department_code)
    rows = db.session.execute(
        db.select(IncidentReport.payload, IncidentReport.fire_department_code).where(
            IncidentReport.fire_department_code.in_(list(organizations))
        )
    ).all()
    return frame_from_payloads(
        (payload, mapped.get(payload.get("unit_name", "")) or organizations.get(code)) for payload, code in rows
    )


def imported_frame(department_code: str) -> pd.DataFrame:
    """Return the department's imported activity records."""
    columns = [getattr(StatActivityRecord, name) for name in FRAME_COLUMNS if hasattr(StatActivityRecord, name)]
    rows = db.session.execute(
        db.select(*columns).where(StatActivityRecord.fire_department_code == department_code)
    ).all()
    frame = pd.DataFrame.from_records(rows, columns=[column.key for column in columns])
    frame["source"] = "import"
    for column in ("call_received", "arrived_scene", "departed_scene", "handover"):
        frame[column] = pd.to_datetime(frame[column], utc=True)

    return normalize_frame(frame)


def department_frame(department_code: str) -> pd.DataFrame:
    """Return hub and imported incidents of one department.

    An imported record whose incident id also came through the hub is dropped,
    because the field unit's own report is the more direct source.
    """
    from_hub = hub_frame(department_code)
    imported = imported_frame(department_code)
    imported = imported.loc[~imported["incident_id"].isin(from_hub["incident_id"]).to_numpy()]
    if imported.empty:
        return from_hub.reset_index(drop=True)
    if from_hub.empty:
        return imported.reset_index(drop=True)

    return pd.concat([from_hub, imported], ignore_index=True)
