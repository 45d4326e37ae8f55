"""Pure computation of the administrator report from the incident frame.

Definitions (FDMA 救急・救助の現況 and 消防白書 令和6年版 特集4; the weekly
救急搬送困難事案 survey of 総務省消防庁):

- 現場到着所要時間 (response time): 入電 (119 call received) to 現場到着 (arrival on scene).
- 病院収容所要時間 (time to hospital): 入電 to 医師引継ぎ (handover to a physician).
- 現場滞在時間 (time on scene): 現場到着 to 現場出発 (departure from scene).
- 救急搬送困難事案 (difficult transport case): 照会回数 (hospital inquiries) 4 or more
  AND 現場滞在時間 30 minutes or more. Both bounds are inclusive.

A missing time leaves that interval out of every average and is counted as
missing, never as zero. An interval whose end precedes its start is counted as
invalid and also left out. Months are calendar months in Japan time (JST, UTC+9,
no daylight saving) of the 入電 time, or of the report time when 入電 is missing.

Every function here takes and returns pandas objects and touches no database,
so the screens, the command line, the downloads and the benchmark share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from hub.contract import MYNA_STOP_REASONS, SEVERITIES

# Interval key → (label, start column, end column).
INTERVALS = {
    "response": ("現場到着所要時間", "call_received", "arrived_scene"),
    "hospital": ("病院収容所要時間", "call_received", "handover"),
    "scene": ("現場滞在時間", "arrived_scene", "departed_scene"),
}

DIFFICULT_MIN_INQUIRIES = 4
DIFFICULT_MIN_SCENE_SECONDS = 30 * 60

JST_OFFSET = pd.Timedelta(hours=9)

UNKNOWN_LABEL = "不明"
UNSET_STATION_LABEL = "(未設定)"

# Bins of the FDMA 受入れ状況等実態調査 for 照会回数 and 現場滞在時間, and of the
# 消防白書 for 現場到着所要時間. Each bin is (label, lower bound inclusive).
INQUIRY_BINS = (("0回", 0), ("1回", 1), ("2～3回", 2), ("4～5回", 4), ("6～10回", 6), ("11回以上", 11))
SCENE_BINS_MIN = (("15分未満", 0), ("15～30分未満", 15), ("30～45分未満", 30), ("45～60分未満", 45), ("60～120分未満", 60), ("120分以上", 120))
RESPONSE_BINS_MIN = (("5分未満", 0), ("5～10分未満", 5), ("10～20分未満", 10), ("20～30分未満", 20), ("30分以上", 30))
MISSING_BIN_LABEL = "記録なし"

MYNA_STEPS = (
    ("myna_attempted", "実施を試みた"),
    ("myna_card_present", "カードあり"),
    ("myna_card_read", "カード読取"),
    ("myna_linked", "資格情報と紐付け"),
    ("myna_viewed", "情報を閲覧"),
)

CONSENT_MODE_LABELS = {"pin": "暗証番号", "verbal": "口頭同意", "emergency": "同意困難(同意なし閲覧)"}

CARD_GROUPS = (
    ("viewed", "マイナ救急で閲覧"),
    ("attempted_not_viewed", "試みたが閲覧せず"),
    ("not_attempted", "試みず"),
)

DIMENSIONS = {
    "month": "月",
    "station": "署所",
    "unit": "救急隊",
    "severity": "傷病程度",
    "age_band": "年齢区分",
}

# Columns of a breakdown table, in order, with their Japanese headers.
BREAKDOWN_COLUMNS = {
    "incidents": "件数",
    "response_mean_min": "現場到着所要時間 平均(分)",
    "response_n": "現場到着所要時間 集計件数",
    "response_excluded": "現場到着所要時間 除外(欠測・不整合)",
    "hospital_mean_min": "病院収容所要時間 平均(分)",
    "hospital_n": "病院収容所要時間 集計件数",
    "hospital_excluded": "病院収容所要時間 除外(欠測・不整合)",
    "scene_mean_min": "現場滞在時間 平均(分)",
    "scene_n": "現場滞在時間 集計件数",
    "scene_excluded": "現場滞在時間 除外(欠測・不整合)",
    "difficult": "救急搬送困難事案",
    "difficult_undetermined": "困難事案 判定不能",
    "myna_attempted": "マイナ救急 試行",
    "myna_viewed": "マイナ救急 閲覧",
    "myna_success_rate": "マイナ救急 成功率(%)",
}

# Rows of the float64 block that derive() fills; breakdowns sum them per group.
BLOCK_COLUMNS = ("response_s", "hospital_s", "scene_s", "difficult", "difficult_undetermined", "myna_attempted", "myna_viewed")

# Columns of the per-group sums that breakdown_from_sums() expects, besides "incidents".
SUM_COLUMNS = (
    "response_sum",
    "response_n",
    "hospital_sum",
    "hospital_n",
    "scene_sum",
    "scene_n",
    "difficult",
    "difficult_undetermined",
    "myna_attempted",
    "myna_viewed",
)


@dataclass
class Report:
    """Every figure of the administrator report for one department and period.

    Tables are indexed by their row label and have English column names; the
    Japanese headers are in the ``*_COLUMNS`` / ``TABLE_TITLES`` maps.
    """

    department_code: str
    period_start: date | None
    period_end: date | None
    incidents: int
    intervals: pd.DataFrame
    response_distribution: pd.DataFrame
    inquiry_distribution: pd.DataFrame
    scene_distribution: pd.DataFrame
    difficult: pd.DataFrame
    myna_funnel: pd.DataFrame
    myna_consent_modes: pd.DataFrame
    myna_stop_reasons: pd.DataFrame
    scene_by_card: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame] = field(default_factory=dict)


# Per-incident figures: column name → numpy array, one value per incident.
# Plain arrays instead of a DataFrame because building a 10-million-row frame
# from many columns copies them all, which cost more than the arithmetic.
Derived = dict[str, np.ndarray]

NAT = np.iinfo(np.int64).min
MICROSECONDS_PER_DAY = 86_400 * 1_000_000


def epoch_microseconds(times: pd.Series) -> np.ndarray:
    """Return timezone-aware times as int64 microseconds since 1970 UTC, NAT where missing."""
    if times.dtype.unit != "us":  # type: ignore[union-attr]
        times = times.dt.as_unit("us")

    return np.asarray(times.array.asi8)


def interval_seconds(start: np.ndarray, end: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write seconds from start to end into ``out`` and return the invalid mask.

    ``out`` gets NaN where a time is missing or the order is reversed.
    """
    missing = (start == NAT) | (end == NAT)
    with np.errstate(over="ignore"):
        difference = end - start  # wraps where a value is NAT, and those are masked below

    invalid = ~missing & (difference < 0)
    np.divide(difference, 1_000_000, out=out)
    out[missing | invalid] = np.nan
    return invalid


def derive(frame: pd.DataFrame) -> Derived:
    """Compute the per-incident figures that every table sums or counts.

    The result also has ``block``: a float64 array whose rows are
    :data:`BLOCK_COLUMNS`. The ``*_s`` entries are views of its rows, so the
    breakdowns group one block that was allocated once.
    """
    block = np.empty((len(BLOCK_COLUMNS), len(frame)), dtype="float64")
    rows = {column: block[row] for row, column in enumerate(BLOCK_COLUMNS)}
    times = {column: epoch_microseconds(frame[column]) for column in ("call_received", "arrived_scene", "departed_scene", "handover")}
    derived: Derived = {"block": block}
    for key, (_label, start, end) in INTERVALS.items():
        derived[f"{key}_invalid"] = interval_seconds(times[start], times[end], rows[f"{key}_s"])
        derived[f"{key}_s"] = rows[f"{key}_s"]

    inquiries = _float_values(frame["inquiry_count"])
    derived["difficult"], derived["difficult_undetermined"] = classify_difficult(inquiries, derived["scene_s"])

    reached = np.ones(len(frame), dtype=bool)
    for column, _label in MYNA_STEPS:
        reached = reached & frame[column].to_numpy(dtype=bool)
        derived[column] = reached

    for column in BLOCK_COLUMNS[3:]:
        rows[column][:] = derived[column]

    return derived


def summed_block(derived: Derived, index: pd.Index) -> pd.DataFrame:
    """Return the derived block as a DataFrame over ``index``, without copying it."""
    return pd.DataFrame(derived["block"].T, index=index, columns=list(BLOCK_COLUMNS), copy=False)


def classify_difficult(inquiry_count: np.ndarray, scene_seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (difficult, undetermined) per incident; NaN marks a missing figure.

    An incident is undetermined only when a missing figure could decide it.
    One inquiry and no scene time is certainly not difficult, but five
    inquiries and no scene time could be either.
    """
    inquiries_known = ~np.isnan(inquiry_count)
    scene_known = ~np.isnan(scene_seconds)
    with np.errstate(invalid="ignore"):
        many_inquiries = inquiries_known & (inquiry_count >= DIFFICULT_MIN_INQUIRIES)
        long_scene = scene_known & (scene_seconds >= DIFFICULT_MIN_SCENE_SECONDS)

    difficult = many_inquiries & long_scene
    could_be_many = many_inquiries | ~inquiries_known
    could_be_long = long_scene | ~scene_known
    undetermined = could_be_many & could_be_long & ~difficult
    return difficult, undetermined


def local_days(frame: pd.DataFrame) -> np.ndarray:
    """Return the JST day (days since 1970-01-01) of 入電, else of the report; NAT when neither."""
    stamp = epoch_microseconds(frame["call_received"])
    no_call = stamp == NAT
    if no_call.any():
        stamp = np.where(no_call, epoch_microseconds(frame["reported_at"]), stamp)

    offset = JST_OFFSET // pd.Timedelta(microseconds=1)
    days = (stamp + offset) // MICROSECONDS_PER_DAY
    days[stamp == NAT] = NAT
    return days


def month_numbers(frame: pd.DataFrame) -> pd.Series:
    """Return the JST month of each incident as a categorical of YYYYMM, -1 when no time is known."""
    days = local_days(frame)
    known = days != NAT
    months = [-1]
    codes = np.zeros(len(days), dtype="int32")
    if known.any():
        # Look the month up per distinct day: a year of incidents has only 365 days.
        first, last = int(days[known].min()), int(days[known].max())
        calendar = pd.to_datetime(np.arange(first, last + 1), unit="D")
        by_day = (calendar.year * 100 + calendar.month).to_numpy(dtype="int64")
        months += sorted(set(by_day.tolist()))
        code_by_day = np.zeros(last - first + 2, dtype="int32")
        code_by_day[1:] = np.searchsorted(months[1:], by_day) + 1
        codes = code_by_day[np.where(known, days - first + 1, 0)]

    return pd.Series(pd.Categorical.from_codes(codes, categories=months, validate=False), index=frame.index)


def group_keys(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """Return the raw group key of each incident for one breakdown dimension.

    Keys are labelled after grouping (see :func:`group_label`), so the label
    work runs once per group instead of once per incident.
    """
    if dimension == "month":
        return month_numbers(frame)

    return frame[dimension]


def group_label(dimension: str, key: object) -> str:
    """Return the Japanese row label of one raw group key."""
    if _is_missing(key):
        return UNSET_STATION_LABEL if dimension == "station" else UNKNOWN_LABEL

    if dimension == "month":
        number = int(key)  # type: ignore[call-overload]
        return UNKNOWN_LABEL if number < 0 else f"{number // 100:04d}-{number % 100:02d}"

    if dimension == "severity":
        return SEVERITIES.get(str(key), str(key))

    return str(key)


def breakdown(frame: pd.DataFrame, summed: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Return the breakdown table of one dimension, rows in a natural order.

    ``summed`` is the :func:`summed_block` of the frame.
    """
    keys = group_keys(frame, dimension)
    grouped = summed.groupby(keys, sort=False, dropna=False, observed=True)
    totals = grouped.sum()  # skips NaN, so a missing time adds nothing
    counted = grouped[[f"{key}_s" for key in INTERVALS]].count()

    sums = pd.DataFrame({"incidents": grouped.size()})
    for key in INTERVALS:
        sums[f"{key}_sum"] = totals[f"{key}_s"]
        sums[f"{key}_n"] = counted[f"{key}_s"]
    for column in BLOCK_COLUMNS[3:]:
        sums[column] = totals[column]

    return breakdown_from_sums(sums, dimension)


def breakdown_from_sums(sums: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Label, merge and order per-key sums, then finish them into a breakdown table.

    ``sums`` has an ``incidents`` column and the :data:`SUM_COLUMNS`.

    Shared with the benchmark, which feeds it the same sums computed by DuckDB.
    """
    labels = [group_label(dimension, key) for key in sums.index]
    merged = sums.groupby(labels, sort=False).sum()
    table = finish_breakdown(merged)
    return table.loc[sorted(table.index, key=lambda label: _sort_key(dimension, label))]


def finish_breakdown(sums: pd.DataFrame) -> pd.DataFrame:
    """Turn per-group sums and counts into means, exclusions and rates."""
    table = pd.DataFrame(index=sums.index)
    table["incidents"] = sums["incidents"].astype("int64")
    for key in INTERVALS:
        counted = sums[f"{key}_n"].astype("int64")
        table[f"{key}_mean_min"] = (sums[f"{key}_sum"] / counted / 60.0).where(counted > 0)
        table[f"{key}_n"] = counted
        table[f"{key}_excluded"] = table["incidents"] - counted

    for column in ("difficult", "difficult_undetermined", "myna_attempted", "myna_viewed"):
        table[column] = sums[column].astype("int64")

    attempted = table["myna_attempted"]
    table["myna_success_rate"] = (table["myna_viewed"] / attempted * 100.0).where(attempted > 0)
    return table[list(BREAKDOWN_COLUMNS)]


def _sort_key(dimension: str, label: str) -> tuple[int, float, str]:
    if label in (UNKNOWN_LABEL, UNSET_STATION_LABEL):
        return (2, 0.0, label)

    if dimension == "severity":
        labels = list(SEVERITIES.values())
        return (0, float(labels.index(label)), label) if label in labels else (1, 0.0, label)

    if dimension == "age_band":
        head = label.split("-")[0].rstrip("+歳以上")
        return (0, float(head), label) if head.isdigit() else (1, 0.0, label)

    return (0, 0.0, label)


def interval_table(derived: Derived) -> pd.DataFrame:
    """Return, per FDMA interval: counted, missing, invalid and mean minutes."""
    rows = {}
    for key, (label, _start, _end) in INTERVALS.items():
        seconds = derived[f"{key}_s"]
        invalid = int(derived[f"{key}_invalid"].sum())
        counted = int((~np.isnan(seconds)).sum())
        rows[label] = {
            "n": counted,
            "missing": len(seconds) - counted - invalid,
            "invalid": invalid,
            "mean_min": float(np.nansum(seconds)) / counted / 60.0 if counted else np.nan,
        }

    return pd.DataFrame.from_dict(rows, orient="index")


def binned_counts(values: pd.Series | np.ndarray, bins: tuple[tuple[str, float], ...], scale: float = 1.0) -> pd.DataFrame:
    """Count values per bin (lower bounds times ``scale``, inclusive), plus a 記録なし row for NaN."""
    numbers = _float_values(values)
    bounds = np.array([lower * scale for _label, lower in bins], dtype="float64")
    codes = np.searchsorted(bounds, numbers, side="right") - 1
    codes = np.where(np.isnan(numbers) | (codes < 0), len(bins), codes)

    counts = np.bincount(codes, minlength=len(bins) + 1)
    labels = [label for label, _lower in bins] + [MISSING_BIN_LABEL]
    table = pd.DataFrame({"count": counts.astype("int64")}, index=labels)
    table["share_pct"] = _share(table["count"], int(counts[: len(bins)].sum()))
    table.loc[MISSING_BIN_LABEL, "share_pct"] = np.nan
    return table


def difficult_table(derived: Derived) -> pd.DataFrame:
    """Return 困難事案, 非該当 and 判定不能 counts; the rate counts only determined cases."""
    difficult = int(derived["difficult"].sum())
    undetermined = int(derived["difficult_undetermined"].sum())
    not_difficult = len(derived["difficult"]) - difficult - undetermined
    determined = difficult + not_difficult
    table = pd.DataFrame(
        {"count": [difficult, not_difficult, undetermined]},
        index=["救急搬送困難事案", "非該当", "判定不能(記録なし)"],
    )
    table["share_pct"] = [_rate(difficult, determined), _rate(not_difficult, determined), np.nan]
    return table


def myna_funnel(derived: Derived) -> pd.DataFrame:
    """Return how many incidents reached each マイナ救急 step (each step needs the ones before)."""
    attempted = int(derived["myna_attempted"].sum())
    rows = {label: int(derived[column].sum()) for column, label in MYNA_STEPS}
    table = pd.DataFrame({"count": rows})
    table["share_of_attempted_pct"] = [_rate(count, attempted) for count in table["count"]]
    return table


def myna_consent_modes(frame: pd.DataFrame, derived: Derived) -> pd.DataFrame:
    """Return the consent modes of incidents whose information was viewed."""
    counts = frame["myna_consent_mode"][derived["myna_viewed"]].value_counts(dropna=False)
    return _value_table(counts, lambda mode: CONSENT_MODE_LABELS.get(str(mode), str(mode)))


def myna_stop_reasons(frame: pd.DataFrame, derived: Derived) -> pd.DataFrame:
    """Return why attempted incidents stopped before viewing."""
    stopped = derived["myna_attempted"] & ~derived["myna_viewed"]
    counts = frame["myna_stop_reason"][stopped].value_counts(dropna=False)
    return _value_table(counts, lambda code: MYNA_STOP_REASONS.get(str(code), str(code)))


def scene_by_card(derived: Derived) -> pd.DataFrame:
    """Return 現場滞在時間 for incidents with and without マイナ救急."""
    viewed = derived["myna_viewed"]
    attempted = derived["myna_attempted"]
    masks = {
        "viewed": viewed,
        "attempted_not_viewed": attempted & ~viewed,
        "not_attempted": ~attempted,
    }
    rows = {}
    for key, label in CARD_GROUPS:
        seconds = derived["scene_s"][masks[key]]
        counted = int((~np.isnan(seconds)).sum())
        rows[label] = {
            "incidents": int(masks[key].sum()),
            "n": counted,
            "excluded": int(masks[key].sum()) - counted,
            "mean_min": float(np.nansum(seconds)) / counted / 60.0 if counted else np.nan,
        }

    return pd.DataFrame.from_dict(rows, orient="index")


def filter_period(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """Keep incidents whose JST 入電 date (else report date) is within [start, end]."""
    if start is None and end is None:
        return frame

    days = local_days(frame)
    keep = days != NAT
    if start is not None:
        keep &= days >= _day_number(start)
    if end is not None:
        keep &= days <= _day_number(end)

    return frame.loc[keep]


def build_report(frame: pd.DataFrame, department_code: str, start: date | None = None, end: date | None = None) -> Report:
    """Compute the whole administrator report for one department's frame."""
    frame = filter_period(frame, start, end)
    derived = derive(frame)
    summed = summed_block(derived, frame.index)
    return Report(
        department_code=department_code,
        period_start=start,
        period_end=end,
        incidents=len(frame),
        intervals=interval_table(derived),
        response_distribution=binned_counts(derived["response_s"], RESPONSE_BINS_MIN, scale=60.0),
        inquiry_distribution=binned_counts(frame["inquiry_count"], INQUIRY_BINS),
        scene_distribution=binned_counts(derived["scene_s"], SCENE_BINS_MIN, scale=60.0),
        difficult=difficult_table(derived),
        myna_funnel=myna_funnel(derived),
        myna_consent_modes=myna_consent_modes(frame, derived),
        myna_stop_reasons=myna_stop_reasons(frame, derived),
        scene_by_card=scene_by_card(derived),
        breakdowns={dimension: breakdown(frame, summed, dimension) for dimension in DIMENSIONS},
    )


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _float_values(values: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)

    return np.asarray(values, dtype="float64")


def _value_table(counts: pd.Series, label: Callable[[object], str]) -> pd.DataFrame:
    """Label counted values (missing ones as 不明), merge equal labels and sort by count."""
    labels = [UNKNOWN_LABEL if _is_missing(value) else label(value) for value in counts.index]
    merged = counts.groupby(labels).sum().sort_values(ascending=False, kind="stable")
    merged = merged[merged > 0]
    table = pd.DataFrame({"count": merged.astype("int64")})
    table.index.name = None
    table["share_pct"] = _share(table["count"], int(merged.sum()))
    return table


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _share(counts: pd.Series, total: int) -> pd.Series:
    return counts / total * 100.0 if total else pd.Series(np.nan, index=counts.index)


def _rate(part: int, whole: int) -> float:
    return part / whole * 100.0 if whole else float("nan")
