"""Server-side SVG charts for the admin screens: no JavaScript, no external files.

Every label goes through ``markupsafe.escape`` because station and unit names
come from devices and imported files. Missing values (NaN) draw no bar and
show "-" so a gap is never drawn as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 170
BAR_AREA = 360
VALUE_WIDTH = 90
COLORS = ("#1f6fb2", "#d9822b", "#3a9a5b", "#8e44ad")


def bar_chart(labels: Sequence[str], values: Sequence[float], unit: str = "", title: str = "") -> Markup:
    """Return a horizontal bar chart with one bar per label."""
    finite = [value for value in values if _is_number(value)]
    scale = max(finite) if finite and max(finite) > 0 else 1.0
    height = len(labels) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    parts = [_svg_open(width, height, title)]
    for row, (label, value) in enumerate(zip(labels, values)):
        y = BAR_GAP + row * (BAR_HEIGHT + BAR_GAP)
        text_y = y + BAR_HEIGHT * 0.7
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{text_y:.1f}" text-anchor="end">{escape(label)}</text>')
        if _is_number(value):
            bar = BAR_AREA * float(value) / scale
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar:.1f}" height="{BAR_HEIGHT}" fill="{COLORS[0]}"/>')
            parts.append(f'<text x="{LABEL_WIDTH + bar + 4:.1f}" y="{text_y:.1f}">{_format(value)}{escape(unit)}</text>')
        else:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{text_y:.1f}">-</text>')

    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(x_labels: Sequence[str], series: dict[str, Sequence[float]], title: str = "") -> Markup:
    """Return a line chart with one line per series over shared x labels; NaN breaks a line."""
    width, height, left, bottom, top = 640, 260, 50, 40, 30
    plot_width, plot_height = width - left - 20, height - bottom - top
    finite = [value for values in series.values() for value in values if _is_number(value)]
    scale = max(finite) if finite and max(finite) > 0 else 1.0
    step = plot_width / max(len(x_labels) - 1, 1)

    parts = [_svg_open(width, height, title)]
    parts.append(f'<line x1="{left}" y1="{top + plot_height}" x2="{left + plot_width}" y2="{top + plot_height}" stroke="#888"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{_format(scale)}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end">0</text>')
    for index in _tick_indexes(len(x_labels)):
        x = left + index * step
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(x_labels[index])}</text>')

    for number, (name, values) in enumerate(series.items()):
        color = COLORS[number % len(COLORS)]
        for segment in _segments(values):
            points = " ".join(f"{left + i * step:.1f},{top + plot_height * (1 - float(values[i]) / scale):.1f}" for i in segment)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<rect x="{left + number * 150}" y="6" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{left + number * 150 + 16}" y="16">{escape(name)}</text>')

    parts.append("</svg>")
    return Markup("".join(parts))


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="12" font-family="IPAexGothic, sans-serif">'
        f"<title>{escape(title)}</title>"
    )


def _segments(values: Sequence[float]) -> list[list[int]]:
    segments: list[list[int]] = [[]]
    for index, value in enumerate(values):
        if _is_number(value):
            segments[-1].append(index)
        elif segments[-1]:
            segments.append([])

    return [segment for segment in segments if segment]


def _tick_indexes(count: int, ticks: int = 6) -> list[int]:
    if count <= ticks:
        return list(range(count))

    return sorted({round(i * (count - 1) / (ticks - 1)) for i in range(ticks)})


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))


def _format(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
