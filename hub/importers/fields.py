"""Parsing of the fields of import rows: Japanese numbers, dates and insured-person keys.

Every value is normalised with Unicode NFKC first, so full-width digits (１８７),
half-width katakana and full-width spaces read the same as their standard forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

DATE_PATTERN = re.compile(r"^(\d{4})[-/]?(\d{1,2})[-/]?(\d{1,2})$")


class FieldError(ValueError):
    """A field that cannot be read; the message is the Japanese reason shown to the operator."""


def normalised(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def required(row: dict[str, str], column: str, label: str) -> str:
    value = normalised(row.get(column))
    if not value:
        raise FieldError(f"{label} ({column}) が空です")

    return value


def parse_date(value: str, column: str, label: str) -> date:
    """Read ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYYMMDD`` (digits may be full-width)."""
    match = DATE_PATTERN.match(normalised(value))
    if match is None:
        raise FieldError(f"{label} ({column}) が YYYY-MM-DD 形式の日付ではありません")

    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise FieldError(f"{label} ({column}) が存在しない日付です") from None


def parse_past_date(value: str, column: str, label: str, today: date) -> date:
    day = parse_date(value, column, label)
    if day > today:
        raise FieldError(f"{label} ({column}) が未来の日付です")

    return day


def optional_date(value: str | None, column: str, label: str) -> date | None:
    return parse_date(value, column, label) if normalised(value) else None


def digits(value: str, column: str, label: str, lengths: tuple[int, ...]) -> str:
    """Read a code of digits, restoring leading zeros that a spreadsheet dropped.

    A value one digit shorter than an allowed length is padded with one zero,
    because spreadsheet programs turn 01130012 into 1130012.
    """
    text = normalised(value)
    if not text.isdigit():
        raise FieldError(f"{label} ({column}) が数字ではありません")

    for length in lengths:
        if len(text) == length - 1:
            text = "0" + text

    if len(text) not in lengths:
        allowed = "、".join(f"{length} 桁" for length in lengths)
        raise FieldError(f"{label} ({column}) の桁数が違います({allowed})")

    return text


@dataclass(frozen=True)
class InsuredNumber:
    """被保険者等記号・番号・枝番 with the 保険者番号: the natural key of an insured person."""

    insurer_number: str
    symbol: str
    number: str
    branch: str

    @property
    def patient_import_key(self) -> str:
        return f"insured:{self.insurer_number}:{self.symbol}:{self.number}:{self.branch}"


def insured_number(row: dict[str, str]) -> InsuredNumber:
    """Read the 保険者番号 (6 or 8 digits), 記号 (may be empty), 番号 and 枝番 (2 digits) columns."""
    insurer = digits(row.get("insurer_number", ""), "insurer_number", "保険者番号", (6, 8))
    number = required(row, "number", "被保険者番号")
    branch = digits(row.get("branch", ""), "branch", "枝番", (2,))
    symbol = normalised(row.get("symbol"))
    if ":" in symbol or ":" in number:
        raise FieldError("記号 (symbol) と番号 (number) にコロン (:) は使えません")

    return InsuredNumber(insurer, symbol, number, branch)


def member_id(value: str) -> InsuredNumber:
    """Read a JP-CLINS insurance member identifier ``保険者番号:記号:番号:枝番``."""
    parts = normalised(value).split(":")
    if len(parts) != 4:
        raise FieldError(f"被保険者個人識別子が 保険者番号:記号:番号:枝番 の形式ではありません")

    return insured_number(dict(zip(("insurer_number", "symbol", "number", "branch"), parts)))


def whole_number(value: str | None, column: str, label: str, default: int | None = None) -> int:
    text = normalised(value)
    if not text and default is not None:
        return default

    if not text.isdigit():
        raise FieldError(f"{label} ({column}) が 0 以上の整数ではありません")

    return int(text)
