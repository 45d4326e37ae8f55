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

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from hub.contract import SEVERITIES

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

_SUMMED = (
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


def interval_seconds(frame: pd.DataFrame, start: str, end: str) -> tuple[pd.Series, pd.Series]:
    """Return (seconds, invalid): NaN where a time is missing or the order is reversed."""
    seconds = (frame[end] - frame[start]) / pd.Timedelta(seconds=1)
    invalid = seconds < 0
    return seconds.mask(invalid), invalid


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Compute the per-incident figures that every table sums or counts."""
    derived = pd.DataFrame(index=frame.index)
    for key, (_label, start, end) in INTERVALS.items():
        seconds, invalid = interval_seconds(frame, start, end)
        derived[f"{key}_s"] = seconds
        derived[f"{key}_invalid"] = invalid
        derived[f"{key}_sum"] = seconds.fillna(0.0)
        derived[f"{key}_n"] = seconds.notna()

    difficult, undetermined = classify_difficult(frame["inquiry_count"], derived["scene_s"])
    derived["difficult"] = difficult
    derived["difficult_undetermined"] = undetermined

    reached = pd.Series(True, index=frame.index)
    for column, _label in MYNA_STEPS:
        reached = reached & frame[column]
        derived[column] = reached

    return derived


def classify_difficult(inquiry_count: pd.Series, scene_seconds: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (difficult, undetermined) per incident.

    An incident is undetermined only when a missing figure could decide it:
    one inquiry and no scene time is certainly not difficult, but five
    inquiries and no scene time could be either.
    """
    inquiries_known = inquiry_count.notna().to_numpy()
    scene_known = scene_seconds.notna().to_numpy()
    many_inquiries = (inquiry_count.fillna(0).to_numpy() >= DIFFICULT_MIN_INQUIRIES) & inquiries_known
    long_scene = (scene_seconds.fillna(0.0).to_numpy() >= DIFFICULT_MIN_SCENE_SECONDS) & scene_known

    difficult = many_inquiries & long_scene
    could_be_many = many_inquiries | ~inquiries_known
    could_be_long = long_scene | ~scene_known
    undetermined = could_be_many & could_be_long & ~difficult
    return pd.Series(difficult, index=inquiry_count.index), pd.Series(undetermined, index=inquiry_count.index)


def month_keys(frame: pd.DataFrame) -> pd.Series:
    """Return the JST month of each incident as 'YYYY-MM', or 不明."""
    stamp = frame["call_received"].fillna(frame["reported_at"])
    local = stamp.dt.tz_localize(None) + JST_OFFSET
    number = (local.dt.year * 100 + local.dt.month).astype("Int64")
    labels = {value: f"{value // 100:04d}-{value % 100:02d}" for value in number.dropna().unique()}
    return number.map(labels).astype("string").fillna(UNKNOWN_LABEL)


def dimension_keys(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """Return the group label of each incident for one breakdown dimension."""
    if dimension == "month":
        return month_keys(frame)

    if dimension == "severity":
        return frame["severity"].map(SEVERITIES, na_action="ignore").fillna(frame["severity"]).fillna(UNKNOWN_LABEL)

    if dimension == "station":
        return frame["station"].fillna(UNSET_STATION_LABEL)

    return frame[dimension].fillna(UNKNOWN_LABEL)


def breakdown(frame: pd.DataFrame, derived: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Return the breakdown table of one dimension, rows in a natural order."""
    keys = dimension_keys(frame, dimension)
    grouped = derived[list(_SUMMED)].groupby(keys.to_numpy(), sort=False)
    sums = grouped.sum()
    sums.insert(0, "incidents", grouped.size())
    table = finish_breakdown(sums)
    return table.loc[sorted(table.index, key=lambda label: _sort_key(dimension, label))]


def finish_breakdown(sums: pd.DataFrame) -> pd.DataFrame:
    """Turn per-group sums and counts into means, exclusions and rates.

    Shared with the benchmark, which feeds it the same sums computed by DuckDB.
    """
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


def interval_table(derived: pd.DataFrame) -> pd.DataFrame:
    """Return, per FDMA interval: counted, missing, invalid and mean minutes."""
    rows = {}
    for key, (label, _start, _end) in INTERVALS.items():
        seconds = derived[f"{key}_s"]
        invalid = int(derived[f"{key}_invalid"].sum())
        counted = int(seconds.notna().sum())
        rows[label] = {
            "n": counted,
            "missing": len(derived) - counted - invalid,
            "invalid": invalid,
            "mean_min": seconds.mean() / 60.0 if counted else np.nan,
        }

    return pd.DataFrame.from_dict(rows, orient="index")


def binned_counts(values: pd.Series, bins: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    """Count values per bin (lower bounds inclusive), plus a 記録なし row for NaN."""
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    bounds = np.array([lower for _label, lower in bins], dtype="float64")
    codes = np.searchsorted(bounds, numbers, side="right") - 1
    codes = np.where(np.isnan(numbers) | (codes < 0), len(bins), codes)

    counts = np.bincount(codes, minlength=len(bins) + 1)
    labels = [label for label, _lower in bins] + [MISSING_BIN_LABEL]
    table = pd.DataFrame({"count": counts.astype("int64")}, index=labels)
    table["share_pct"] = _share(table["count"], int(counts[: len(bins)].sum()))
    table.loc[MISSING_BIN_LABEL, "share_pct"] = np.nan
    return table


def difficult_table(derived: pd.DataFrame) -> pd.DataFrame:
    """Return 困難事案, 非該当 and 判定不能 counts; the rate counts only determined cases."""
    difficult = int(derived["difficult"].sum())
    undetermined = int(derived["difficult_undetermined"].sum())
    not_difficult = len(derived) - difficult - undetermined
    determined = difficult + not_difficult
    table = pd.DataFrame(
        {"count": [difficult, not_difficult, undetermined]},
        index=["救急搬送困難事案", "非該当", "判定不能(記録なし)"],
    )
    table["share_pct"] = [_rate(difficult, determined), _rate(not_difficult, determined), np.nan]
    return table


def myna_funnel(derived: pd.DataFrame) -> pd.DataFrame:
    """Return how many incidents reached each マイナ救急 step (each step needs the ones before)."""
    attempted = int(derived["myna_attempted"].sum())
    rows = {label: int(derived[column].sum()) for column, label in MYNA_STEPS}
    table = pd.DataFrame({"count": rows})
    table["share_of_attempted_pct"] = [_rate(count, attempted) for count in table["count"]]
    return table


def myna_consent_modes(frame: pd.DataFrame, derived: pd.DataFrame) -> pd.DataFrame:
    """Return the consent modes of incidents whose information was viewed."""
    modes = frame.loc[derived["myna_viewed"], "myna_consent_mode"]
    labels = modes.map(CONSENT_MODE_LABELS, na_action="ignore").fillna(modes).fillna(UNKNOWN_LABEL)
    return _value_table(labels)


def myna_stop_reasons(frame: pd.DataFrame, derived: pd.DataFrame) -> pd.DataFrame:
    """Return why attempted incidents stopped before viewing."""
    stopped = derived["myna_attempted"] & ~derived["myna_viewed"]
    return _value_table(frame.loc[stopped, "myna_stop_reason"].fillna(UNKNOWN_LABEL))


def scene_by_card(derived: pd.DataFrame) -> pd.DataFrame:
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
        seconds = derived.loc[masks[key], "scene_s"]
        counted = int(seconds.notna().sum())
        rows[label] = {
            "incidents": int(masks[key].sum()),
            "n": counted,
            "excluded": int(masks[key].sum()) - counted,
            "mean_min": seconds.mean() / 60.0 if counted else np.nan,
        }

    return pd.DataFrame.from_dict(rows, orient="index")


def filter_period(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """Keep incidents whose JST 入電 date (else report date) is within [start, end]."""
    if start is None and end is None:
        return frame

    stamp = frame["call_received"].fillna(frame["reported_at"])
    local_day = (stamp.dt.tz_localize(None) + JST_OFFSET).dt.normalize()
    keep = local_day.notna()
    if start is not None:
        keep &= local_day >= pd.Timestamp(start)
    if end is not None:
        keep &= local_day <= pd.Timestamp(end)

    return frame.loc[keep.to_numpy()]


def build_report(frame: pd.DataFrame, department_code: str, start: date | None = None, end: date | None = None) -> Report:
    """Compute the whole administrator report for one department's frame."""
    frame = filter_period(frame, start, end)
    derived = derive(frame)
    return Report(
        department_code=department_code,
        period_start=start,
        period_end=end,
        incidents=len(frame),
        intervals=interval_table(derived),
        response_distribution=binned_counts(derived["response_s"] / 60.0, RESPONSE_BINS_MIN),
        inquiry_distribution=binned_counts(frame["inquiry_count"], INQUIRY_BINS),
        scene_distribution=binned_counts(derived["scene_s"] / 60.0, SCENE_BINS_MIN),
        difficult=difficult_table(derived),
        myna_funnel=myna_funnel(derived),
        myna_consent_modes=myna_consent_modes(frame, derived),
        myna_stop_reasons=myna_stop_reasons(frame, derived),
        scene_by_card=scene_by_card(derived),
        breakdowns={dimension: breakdown(frame, derived, dimension) for dimension in DIMENSIONS},
    )


def _value_table(labels: pd.Series) -> pd.DataFrame:
    counts = labels.value_counts(sort=True)
    table = pd.DataFrame({"count": counts.astype("int64")})
    table.index = table.index.astype(str)
    table["share_pct"] = _share(table["count"], int(counts.sum()))
    return table


def _share(counts: pd.Series, total: int) -> pd.Series:
    return counts / total * 100.0 if total else pd.Series(np.nan, index=counts.index)


def _rate(part: int, whole: int) -> float:
    return part / whole * 100.0 if whole else float("nan")
