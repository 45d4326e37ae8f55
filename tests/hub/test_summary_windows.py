"""Calendar arithmetic of the summary windows."""

from __future__ import annotations

from datetime import date

import pytest

from hub.summary import high_risk_class, months_before


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 4), 3, date(2026, 9, 4)),
        (date(2026, 5, 31), 3, date(2026, 2, 28)),
        (date(2028, 5, 31), 3, date(2028, 2, 29)),
        (date(2026, 2, 15), 3, date(2025, 11, 15)),
        (date(2026, 12, 4), 60, date(2021, 12, 4)),
    ],
)
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("ingredient", "label"),
    [
        ("ワルファリンカリウム", "抗凝固薬"),
        ("クロピドグレル硫酸塩", "抗血小板薬"),
        ("インスリン グラルギン(遺伝子組換え)", "インスリン"),
        ("プレドニゾロン", "ステロイド"),
        ("アムロジピンベシル酸塩", None),
    ],
)
def test_high_risk_class(ingredient: str, label: str | None) -> None:
    assert high_risk_class(ingredient) == label
