"""Tables owned by the statistics package, on the hub's ``db``.

- ``stat_activity_records``: de-identified incidents imported from a fire
  department's existing activity records (活動記録), one row per incident.
- ``stat_import_batches``: who imported which file when, for the audit trail.
- ``stat_fdma_weekly``: the FDMA weekly 救急搬送困難事案 series per fire
  department, per prefecture and national.
- ``stat_unit_stations``: which station (署所) each ambulance unit belongs to,
  because the incident report names only the unit.
- ``stat_department_profiles``: the prefecture and FDMA name of a department,
  used to pick its rows out of the FDMA series.

Datetime columns use the hub's ``UtcDateTime`` mapping (naive UTC in the
database, timezone-aware in Python).

The hub's schema comes from Alembic migrations, and none creates these tables
yet. :data:`STATISTICS_TABLES` lists them for that migration and for tests.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import db, utcnow

FDMA_LEVELS = ("department", "prefecture", "national")


class StatImportBatch(db.Model):  # type: ignore[name-defined]
    """One import of an activity-record CSV file."""

    __tablename__ = "stat_import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    fire_department_code: Mapped[str] = mapped_column(String(32), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(120))
    row_count: Mapped[int]
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatActivityRecord(db.Model):  # type: ignore[name-defined]
    """One imported, de-identified incident. Importing the same incident id again replaces it."""

    __tablename__ = "stat_activity_records"
    __table_args__ = (UniqueConstraint("fire_department_code", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fire_department_code: Mapped[str] = mapped_column(String(32), index=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(ForeignKey("stat_import_batches.id"))
    station: Mapped[str | None] = mapped_column(String(120))
    unit: Mapped[str | None] = mapped_column(String(120))
    age_band: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(16))
    jcs: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(16))
    call_received: Mapped[datetime | None]
    arrived_scene: Mapped[datetime | None]
    departed_scene: Mapped[datetime | None]
    handover: Mapped[datetime | None]
    inquiry_count: Mapped[int | None]
    myna_attempted: Mapped[bool] = mapped_column(default=False)
    myna_card_present: Mapped[bool] = mapped_column(default=False)
    myna_card_read: Mapped[bool] = mapped_column(default=False)
    myna_linked: Mapped[bool] = mapped_column(default=False)
    myna_viewed: Mapped[bool] = mapped_column(default=False)
    myna_consent_mode: Mapped[str | None] = mapped_column(String(16))
    myna_stop_reason: Mapped[str | None] = mapped_column(String(200))


class StatFdmaWeekly(db.Model):  # type: ignore[name-defined]
    """One week of the FDMA 救急搬送困難事案 count at one level."""

    __tablename__ = "stat_fdma_weekly"
    __table_args__ = (UniqueConstraint("level", "prefecture", "department_name", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    prefecture: Mapped[str] = mapped_column(String(8), default="")
    department_name: Mapped[str] = mapped_column(String(120), default="")
    week_start: Mapped[date]
    week_end: Mapped[date]
    count: Mapped[int]


class StatUnitStation(db.Model):  # type: ignore[name-defined]
    """The station (署所) of one ambulance unit of a fire department."""

    __tablename__ = "stat_unit_stations"
    __table_args__ = (UniqueConstraint("fire_department_code", "unit_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fire_department_code: Mapped[str] = mapped_column(String(32), index=True)
    unit_name: Mapped[str] = mapped_column(String(120))
    station_name: Mapped[str] = mapped_column(String(120))


class StatDepartmentProfile(db.Model):  # type: ignore[name-defined]
    """The prefecture and FDMA 消防本部名 of a department, for the FDMA comparison."""

    __tablename__ = "stat_department_profiles"

    fire_department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    prefecture: Mapped[str] = mapped_column(String(8))
    fdma_department_name: Mapped[str] = mapped_column(String(120), default="")


STATISTICS_TABLES = [
    StatImportBatch.__table__,
    StatActivityRecord.__table__,
    StatFdmaWeekly.__table__,
    StatUnitStation.__table__,
    StatDepartmentProfile.__table__,
]
