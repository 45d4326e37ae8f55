"""The FDMA definitions on hand-made incidents whose figures are known."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from hub.statistics import compute
from hub.statistics.records import frame_from_payloads, normalize_frame


def incident(call: str | None = "2026-01-10T10:00:00+09:00", **overrides) -> dict:
    """A record in frame columns: 入電 at ``call``, other times given as minutes after it."""
    record = {
        "incident_id": overrides.pop("incident_id", "I-1"),
        "source": "hub",
        "station": overrides.pop("station", "中央署"),
        "unit": overrides.pop("unit", "中央救急1"),
        "severity": overrides.pop("severity", "mild"),
        "age_band": overrides.pop("age_band", "80-89"),
        "call_received": call,
        "inquiry_count": overrides.pop("inquiries", 1),
    }
    base = pd.Timestamp(call) if call else pd.Timestamp("2026-01-10T10:00:00+09:00")
    for column in ("arrived_scene", "departed_scene", "handover"):
        minutes = overrides.pop(column, None)
        record[column] = None if minutes is None else (base + pd.Timedelta(minutes=minutes)).isoformat()

    record.update(overrides)
    return record


def frame(*records: dict) -> pd.DataFrame:
    return normalize_frame(pd.DataFrame.from_records(list(records)))


def test_response_mean_skips_missing():
    data = frame(
        incident(arrived_scene=8),
        incident(arrived_scene=12),
        incident(arrived_scene=None),
    )
    table = compute.build_report(data, "F1").intervals
    row = table.loc["現場到着所要時間"]
    assert row["mean_min"] == 10.0
    assert row["n"] == 2
    assert row["missing"] == 1


def test_missing_call_is_not_zero():
    data = frame(incident(call=None, arrived_scene=5, reported_at="2026-01-10T01:00:00Z"))
    row = compute.build_report(data, "F1").intervals.loc["現場到着所要時間"]
    assert row["n"] == 0
    assert row["missing"] == 1
    assert math.isnan(row["mean_min"])


def test_reversed_times_are_invalid():
    data = frame(incident(arrived_scene=20, departed_scene=10), incident(arrived_scene=5, departed_scene=25))
    row = compute.build_report(data, "F1").intervals.loc["現場滞在時間"]
    assert row["invalid"] == 1
    assert row["missing"] == 0
    assert row["mean_min"] == 20.0


def test_hospital_time_ends_at_handover():
    data = frame(incident(arrived_scene=10, departed_scene=30, handover=47))
    row = compute.build_report(data, "F1").intervals.loc["病院収容所要時間"]
    assert row["mean_min"] == 47.0


def test_difficult_boundaries_inclusive():
    data = frame(
        incident(incident_id="exact", inquiries=4, arrived_scene=10, departed_scene=40),
        incident(incident_id="three", inquiries=3, arrived_scene=10, departed_scene=100),
        incident(incident_id="short", inquiries=9, arrived_scene=10, departed_scene=39.99),
    )
    table = compute.build_report(data, "F1").difficult
    assert table.loc["救急搬送困難事案", "count"] == 1
    assert table.loc["非該当", "count"] == 2


def test_difficult_one_second_short():
    data = frame(incident(inquiries=4, arrived_scene=10, departed_scene=10 + 29 + 59 / 60))
    table = compute.build_report(data, "F1").difficult
    assert table.loc["救急搬送困難事案", "count"] == 0


def test_difficult_undetermined_only_if_open():
    data = frame(
        incident(incident_id="could", inquiries=5, arrived_scene=10, departed_scene=None),
        incident(incident_id="never", inquiries=1, arrived_scene=10, departed_scene=None),
        incident(incident_id="unknown", inquiries=None, arrived_scene=10, departed_scene=45),
    )
    table = compute.build_report(data, "F1").difficult
    assert table.loc["判定不能(記録なし)", "count"] == 2
    assert table.loc["非該当", "count"] == 1
    assert table.loc["非該当", "share_pct"] == 100.0


def test_inquiry_distribution_bins():
    data = frame(*(incident(incident_id=str(n), inquiries=n) for n in (0, 1, 2, 3, 4, 5, 6, 10, 11, 30)))
    table = compute.build_report(data, "F1").inquiry_distribution
    assert table["count"].to_dict() == {
        "0回": 1,
        "1回": 1,
        "2～3回": 2,
        "4～5回": 2,
        "6～10回": 2,
        "11回以上": 2,
        "記録なし": 0,
    }


def test_scene_distribution_edges():
    data = frame(
        incident(arrived_scene=0, departed_scene=15),
        incident(arrived_scene=0, departed_scene=29.5),
        incident(arrived_scene=0, departed_scene=30),
        incident(arrived_scene=0, departed_scene=None),
    )
    table = compute.build_report(data, "F1").scene_distribution
    assert table.loc["15～30分未満", "count"] == 2
    assert table.loc["30～45分未満", "count"] == 1
    assert table.loc["記録なし", "count"] == 1


def myna(attempted=True, present=True, read=True, linked=True, viewed=True, mode="verbal", reason=None) -> dict:
    return {
        "myna_attempted": attempted,
        "myna_card_present": present,
        "myna_card_read": read,
        "myna_linked": linked,
        "myna_viewed": viewed,
        "myna_consent_mode": mode,
        "myna_stop_reason": reason,
    }


def test_myna_funnel_and_rate():
    data = frame(
        incident(incident_id="a", **myna()),
        incident(incident_id="b", **myna(present=False, read=False, linked=False, viewed=False, reason="カード不携帯")),
        incident(incident_id="c", **myna(linked=False, viewed=False, reason="紐付けなし")),
        incident(incident_id="d", **myna(attempted=False, present=False, read=False, linked=False, viewed=False)),
    )
    report = compute.build_report(data, "F1")
    funnel = report.myna_funnel["count"].to_dict()
    assert funnel == {"実施を試みた": 3, "カードあり": 2, "カード読取": 2, "資格情報と紐付け": 1, "情報を閲覧": 1}
    assert round(report.myna_funnel.loc["情報を閲覧", "share_of_attempted_pct"], 4) == round(100 / 3, 4)
    assert report.myna_stop_reasons["count"].to_dict() == {"カード不携帯": 1, "紐付けなし": 1}


def test_funnel_step_needs_previous():
    data = frame(incident(**myna(attempted=False)))
    funnel = compute.build_report(data, "F1").myna_funnel
    assert funnel.loc["情報を閲覧", "count"] == 0


def test_consent_modes_of_viewed():
    data = frame(incident(incident_id="a", **myna(mode="emergency")), incident(incident_id="b", **myna(mode="verbal")))
    modes = compute.build_report(data, "F1").myna_consent_modes
    assert modes.loc["同意困難(同意なし閲覧)", "count"] == 1


def test_scene_time_with_and_without_card():
    data = frame(
        incident(incident_id="a", arrived_scene=0, departed_scene=24, **myna()),
        incident(incident_id="b", arrived_scene=0, departed_scene=18, **myna(attempted=False, viewed=False)),
        incident(incident_id="c", arrived_scene=0, departed_scene=None, **myna(attempted=False, viewed=False)),
    )
    table = compute.build_report(data, "F1").scene_by_card
    assert table.loc["マイナ救急で閲覧", "mean_min"] == 24.0
    assert table.loc["試みず", "mean_min"] == 18.0
    assert table.loc["試みず", "excluded"] == 1


def test_month_uses_japan_time():
    data = frame(incident(call="2026-01-31T15:30:00Z", arrived_scene=5))
    months = compute.build_report(data, "F1").breakdowns["month"]
    assert list(months.index) == ["2026-02"]


def test_breakdown_by_severity_order():
    data = frame(
        incident(incident_id="a", severity="mild", arrived_scene=6),
        incident(incident_id="b", severity="severe", arrived_scene=10),
        incident(incident_id="c", severity=None, arrived_scene=None),
    )
    table = compute.build_report(data, "F1").breakdowns["severity"]
    assert list(table.index) == ["重症(長期入院)", "軽症(外来診療)", "不明"]
    assert table.loc["重症(長期入院)", "response_mean_min"] == 10.0
    assert table.loc["不明", "response_excluded"] == 1
    assert math.isnan(table.loc["不明", "response_mean_min"])


def test_breakdown_by_age_band_numeric():
    data = frame(*(incident(incident_id=band, age_band=band) for band in ("100-109", "80-89", "0-9")))
    table = compute.build_report(data, "F1").breakdowns["age_band"]
    assert list(table.index) == ["0-9", "80-89", "100-109"]


def test_breakdown_station_unset():
    data = frame(incident(station=None))
    table = compute.build_report(data, "F1").breakdowns["station"]
    assert list(table.index) == ["(未設定)"]


def test_period_filter_inclusive():
    data = frame(
        incident(incident_id="in", call="2026-03-31T23:59:00+09:00"),
        incident(incident_id="out", call="2026-04-01T00:00:00+09:00"),
    )
    report = compute.build_report(data, "F1", date(2026, 3, 1), date(2026, 3, 31))
    assert report.incidents == 1


def test_empty_frame_report():
    report = compute.build_report(frame_from_payloads([]), "F1")
    assert report.incidents == 0
    assert report.difficult["count"].sum() == 0


def test_payload_flattening():
    payload = {
        "incident_id": "X",
        "unit_name": "北救急1",
        "reported_at": "2026-01-01T00:00:00+00:00",
        "age_band": "70-79",
        "times": {"call_received": "2026-01-01T00:00:00+00:00", "arrived_scene": "2026-01-01T00:09:00+00:00"},
        "inquiries": [{"hospital_code": "H", "asked_at": "x", "result": "declined", "reason": "beds_full"}] * 4,
        "myna": {"attempted": True, "card_present": True, "card_read": None},
    }
    data = frame_from_payloads([(payload, "北署")])
    assert data.loc[0, "inquiry_count"] == 4
    assert data.loc[0, "station"] == "北署"
    assert bool(data.loc[0, "myna_card_read"]) is False
    assert compute.build_report(data, "F1").intervals.loc["現場到着所要時間", "mean_min"] == 9.0
