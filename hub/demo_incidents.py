"""Synthetic de-identified incident reports, so the demo's statistics screens have a year of data.

The reports have the same :class:`hub.contract.IncidentReport` shape that
field units send. The distributions are rough estimates, not real data. They
follow the national figures loosely: about 10 minutes to the scene, most
transports after one inquiry, and a few 救急搬送困難事案 (hard-to-place
transports) with many inquiries and long scene times.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from hub.contract import DECLINE_REASONS, TIMELINE_KEYS, Inquiry, IncidentReport, MynaSteps

JST = timezone(timedelta(hours=9))
DEMO_UNITS = ("中央救急1", "中央救急2", "北救急1", "東救急1", "白石救急1")
AGE_BANDS = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90-")
AGE_WEIGHTS = (5, 4, 6, 5, 6, 8, 12, 20, 24, 10)
SEVERITY_WEIGHTS = {"mild": 46, "moderate": 40, "severe": 8, "death": 1, "other": 5}
INQUIRY_COUNTS = (1, 2, 3, 4, 5, 6, 8)
INQUIRY_WEIGHTS = (76, 11, 6, 3, 2, 1, 1)
MISSING_TIME_SHARE = 0.02


def generate_incident_reports(
    count: int, seed: int, today: date, unit_prefix: str, hospital_codes: list[str]
) -> list[IncidentReport]:
    """``count`` reports spread over the year before ``today``; the same seed gives the same reports."""
    rng = random.Random(seed)
    return [_report(rng, index, today, unit_prefix, hospital_codes) for index in range(count)]


def _report(rng: random.Random, index: int, today: date, unit_prefix: str, hospital_codes: list[str]) -> IncidentReport:
    call = _call_time(rng, today)
    inquiries = _inquiries(rng, call, hospital_codes)
    times = _timeline(rng, call, len(inquiries))

    return IncidentReport(
        incident_id=f"DEMO-{index:06d}",
        unit_name=f"{unit_prefix} {rng.choice(DEMO_UNITS)}",
        reported_at=(call + timedelta(hours=2)).isoformat(),
        age_band=rng.choices(AGE_BANDS, AGE_WEIGHTS)[0],
        sex=rng.choice(("1", "2")),
        times=times,
        jcs=rng.choices(("0", "1", "2", "3", "10", "20", "30", "100", "200", "300"), (50, 15, 8, 5, 8, 4, 3, 3, 2, 2))[0],
        severity=rng.choices(list(SEVERITY_WEIGHTS), list(SEVERITY_WEIGHTS.values()))[0],
        inquiries=inquiries,
        myna=_myna_steps(rng),
    )


def _call_time(rng: random.Random, today: date) -> datetime:
    day = today - timedelta(days=rng.randrange(1, 366))
    seconds = rng.randrange(24 * 3600)
    return datetime.combine(day, time(0), JST) + timedelta(seconds=seconds)


def _timeline(rng: random.Random, call: datetime, inquiry_count: int) -> dict[str, str | None]:
    # Minutes between consecutive timeline points, in TIMELINE_KEYS order.
    scene_minutes = rng.lognormvariate(2.8, 0.35) + 6 * max(0, inquiry_count - 1)
    gaps = (
        0.0,
        rng.uniform(0.5, 2.0),
        rng.lognormvariate(2.0, 0.35),
        rng.uniform(0.5, 3.0),
        scene_minutes,
        rng.lognormvariate(2.4, 0.5),
        rng.uniform(2.0, 10.0),
    )

    times: dict[str, str | None] = {}
    moment = call
    for key, gap in zip(TIMELINE_KEYS, gaps):
        moment = moment + timedelta(minutes=gap)
        times[key] = None if rng.random() < MISSING_TIME_SHARE else moment.astimezone(timezone.utc).isoformat()

    return times


def _inquiries(rng: random.Random, call: datetime, hospital_codes: list[str]) -> list[Inquiry]:
    count = rng.choices(INQUIRY_COUNTS, INQUIRY_WEIGHTS)[0]
    hospitals = rng.sample(hospital_codes, k=min(count, len(hospital_codes)))
    reasons = list(DECLINE_REASONS)

    inquiries = []
    for number, code in enumerate(hospitals):
        asked_at = (call + timedelta(minutes=14 + 5 * number)).astimezone(timezone.utc).isoformat()
        if number == len(hospitals) - 1:
            inquiries.append(Inquiry(hospital_code=code, asked_at=asked_at, result="accepted"))
        else:
            reason = rng.choices(reasons, (50, 15, 10, 8, 2, 5, 10))[0]
            inquiries.append(Inquiry(hospital_code=code, asked_at=asked_at, result="declined", reason=reason))

    return inquiries


def _myna_steps(rng: random.Random) -> MynaSteps:
    if rng.random() > 0.45:
        return MynaSteps(attempted=False)

    if rng.random() > 0.55:
        return MynaSteps(attempted=True, card_present=False, stop_reason="no_card")

    if rng.random() > 0.92:
        return MynaSteps(attempted=True, card_present=True, card_read=False, stop_reason="card_error")

    if rng.random() > 0.9:
        return MynaSteps(attempted=True, card_present=True, card_read=True, linked=False, stop_reason="unlinked_card")

    mode = rng.choices(("verbal", "emergency", "pin"), (85, 10, 5))[0]
    viewed = rng.random() < 0.95
    return MynaSteps(
        attempted=True,
        card_present=True,
        card_read=True,
        linked=True,
        consent_mode=mode,
        viewed=viewed,
        stop_reason=None if viewed else "unreachable",
    )
