"""Comparison of a department's 救急搬送困難事案 with its prefecture and the nation.

The FDMA weekly survey counts cases per week starting on Monday. The
department's own count is computed from its records with the same definition
(照会 4 or more AND 現場滞在 30 minutes or more) over the same weeks, in
Japan time. The FDMA survey covers 52 fire departments only (prefectural
capitals and designated cities), so most departments have no series of their
own there and compare with their prefecture and the nation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from hub.models import Organization, db
from hub.statistics import compute
from hub.statistics.models import StatDepartmentProfile, StatFdmaWeekly

SERIES_LABELS = {
    "own_records": "自本部(記録から集計)",
    "own_fdma": "自本部(FDMA 公表値)",
    "prefecture": "都道府県(FDMA)",
    "national": "全国(FDMA)",
}


@dataclass
class Comparison:
    prefecture: str | None
    fdma_department_name: str | None
    weekly: pd.DataFrame  # index: week start (date); columns: keys of SERIES_LABELS
    totals: pd.DataFrame  # index: series label; columns: weeks, count


def weekly_difficult(frame: pd.DataFrame) -> pd.Series:
    """Return the department's 困難事案 count per Monday-start JST week of 入電."""
    difficult = compute.derive(frame)["difficult"]
    days = compute.local_days(frame)
    known = days != compute.NAT
    # 1970-01-01 was a Thursday, so day number + 3 modulo 7 is the weekday counted from Monday.
    monday = days[known] - (days[known] + 3) % 7
    counts = pd.Series(difficult[known]).groupby(monday).sum()
    counts.index = [date(1970, 1, 1) + timedelta(days=int(day)) for day in counts.index]
    return counts.astype("int64")


def build_comparison(frame: pd.DataFrame, series: dict[str, pd.Series], prefecture: str | None, fdma_name: str | None) -> Comparison:
    """Align the department's weekly counts with the FDMA series, week by week.

    A week where a series has no figure stays empty (NaN), never zero.
    """
    columns = {"own_records": weekly_difficult(frame), **series}
    weekly = pd.DataFrame({key: columns.get(key, pd.Series(dtype="float64")) for key in SERIES_LABELS}).sort_index()
    totals = pd.DataFrame(
        {
            "weeks": weekly.notna().sum(),
            "count": weekly.sum(min_count=1),
        }
    ).rename(index=SERIES_LABELS)
    return Comparison(prefecture=prefecture, fdma_department_name=fdma_name, weekly=weekly, totals=totals)


def department_comparison(department_code: str, frame: pd.DataFrame) -> Comparison:
    """Load the FDMA series that match the department's profile and compare."""
    prefecture, fdma_name = department_profile(department_code)
    series = {}
    if fdma_name:
        series["own_fdma"] = _fdma_series("department", prefecture or "", fdma_name)
    if prefecture:
        series["prefecture"] = _fdma_series("prefecture", prefecture, "")
    series["national"] = _fdma_series("national", "", "")
    return build_comparison(frame, series, prefecture, fdma_name)


def department_profile(department_code: str) -> tuple[str | None, str | None]:
    """Return (prefecture, FDMA 消防本部名) from the stored profile, else by matching the name."""
    profile = db.session.get(StatDepartmentProfile, department_code)
    if profile is not None:
        return profile.prefecture, profile.fdma_department_name or None

    name = db.session.execute(
        db.select(Organization.name).where(Organization.code == department_code)
    ).scalar_one_or_none()
    match = db.session.execute(
        db.select(StatFdmaWeekly.prefecture)
        .where(StatFdmaWeekly.level == "department", StatFdmaWeekly.department_name == name)
        .limit(1)
    ).scalar_one_or_none()
    return (match, name) if match else (None, None)


def set_department_profile(department_code: str, prefecture: str, fdma_name: str) -> None:
    profile = db.session.get(StatDepartmentProfile, department_code)
    if profile is None:
        profile = StatDepartmentProfile(fire_department_code=department_code)
        db.session.add(profile)

    profile.prefecture = prefecture
    profile.fdma_department_name = fdma_name
    db.session.commit()


def fdma_choices() -> tuple[list[str], list[str]]:
    """Return the prefectures and the FDMA department names stored, for the profile form."""
    prefectures = db.session.execute(
        db.select(StatFdmaWeekly.prefecture).where(StatFdmaWeekly.level == "prefecture").distinct()
    ).scalars()
    departments = db.session.execute(
        db.select(StatFdmaWeekly.department_name).where(StatFdmaWeekly.level == "department").distinct()
    ).scalars()
    return sorted(prefectures), sorted(departments)


def _fdma_series(level: str, prefecture: str, department_name: str) -> pd.Series:
    rows = db.session.execute(
        db.select(StatFdmaWeekly.week_start, StatFdmaWeekly.count).where(
            StatFdmaWeekly.level == level,
            StatFdmaWeekly.prefecture == prefecture,
            StatFdmaWeekly.department_name == department_name,
        )
    ).all()
    return pd.Series({week: count for week, count in rows}, dtype="float64")
