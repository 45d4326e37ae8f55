"""Vital-sign trends for the packet screen: one small line chart (SVG points) per measure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hub.contract import Vitals

JST = timezone(timedelta(hours=9), "JST")

CHART_WIDTH = 160
CHART_HEIGHT = 40

# Measure, Japanese label, unit.
MEASURES = (
    ("systolic_bp", "収縮期血圧", "mmHg"),
    ("heart_rate", "脈拍", "/分"),
    ("respiratory_rate", "呼吸数", "/分"),
    ("spo2", "SpO2", "%"),
    ("body_temperature", "体温", "℃"),
)


@dataclass
class Trend:
    key: str
    label: str
    unit: str
    values: list[float]
    points: str
    latest: float | None
    arrow: str


def vital_trends(vitals: list[Vitals]) -> list[Trend]:
    """Return one trend per measure that has at least one value, oldest measurement first."""
    ordered = sorted(vitals, key=lambda item: item.measured_at)
    trends = []
    for key, label, unit in MEASURES:
        values = [float(getattr(item, key)) for item in ordered if getattr(item, key) is not None]
        if values:
            trends.append(Trend(key, label, unit, values, _svg_points(values), values[-1], _arrow(values)))

    return trends


def clock_time(iso_time: str) -> str:
    """Format an ISO 8601 time as HH:MM in Japan time, or return it unchanged if unparsable."""
    try:
        moment = datetime.fromisoformat(iso_time)
    except ValueError:
        return iso_time

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)

    return moment.astimezone(JST).strftime("%H:%M")


def _svg_points(values: list[float]) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = CHART_WIDTH / max(len(values) - 1, 1)
    points = []
    for index, value in enumerate(values):
        x = index * step if len(values) > 1 else CHART_WIDTH / 2
        y = CHART_HEIGHT - 4 - (value - low) / span * (CHART_HEIGHT - 8)
        points.append(f"{x:.1f},{y:.1f}")

    return " ".join(points)


def _arrow(values: list[float]) -> str:
    if len(values) < 2 or values[-1] == values[-2]:
        return "→"

    return "↑" if values[-1] > values[-2] else "↓"
