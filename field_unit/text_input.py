"""Normalising and checking what the crew types, before anything is stored or queued.

Japanese IMEs give full-width digits and colons (２４６８, １４：０５), so numbers are
read after Unicode NFKC normalisation and then checked digit by digit. Python's
``int()`` alone accepts ``1_00``, raises on ``²`` although ``isdigit()`` returned
True for it, and ``float()`` accepts ``inf`` and ``nan``.
"""

from __future__ import annotations

import math
import re
import unicodedata

from hub.contract import ContractError

_DIGITS = re.compile(r"^[0-9]+$")
# NFKC also turns superscripts and other look-alikes into digits (² -> 2); only ASCII
# and full-width digits are numbers the crew meant to type.
_TYPED_DIGITS = re.compile(r"^\s*[0-9０-９]+\s*$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_TYPED_DECIMAL = re.compile(r"^\s*[-－]?[0-9０-９]+([.．][0-9０-９]+)?\s*$")
# C0 and C1 control characters, DEL included; tab and newline are allowed only in free text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalized(text: str) -> str:
    """NFKC-normalise and strip, so full-width digits, letters and colons read as ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def strict_int(text: str) -> int | None:
    """Return the value of a plain run of ASCII digits after NFKC, or None for anything else."""
    value = normalized(text)
    if not _TYPED_DIGITS.match(text) or not _DIGITS.match(value) or len(value) > 12:
        return None
    return int(value)


def strict_number(text: str) -> float | None:
    """Return a finite decimal number after NFKC (no exponent, underscore, inf or nan), or None."""
    value = normalized(text)
    if not _TYPED_DECIMAL.match(text) or not _DECIMAL.match(value) or len(value) > 32:
        return None
    return float(value)


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Return True when the text contains a NUL or another control character the hospital cannot show."""
    pattern = _CONTROL if multiline else _CONTROL_SINGLE_LINE
    return bool(pattern.search(text))


def valid_coordinates(latitude: float, longitude: float) -> bool:
    """True for a finite point on Earth; inf and nan would break every distance after it."""
    finite = math.isfinite(latitude) and math.isfinite(longitude)
    return finite and -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


FIELD_LABELS = {
    "chief_complaint": "主訴",
    "notes": "備考",
    "eta_minutes": "到着予定",
    "unit_name": "隊名",
    "hospital_codes": "送信先の医療機関",
}


def contract_message(exc: ContractError) -> str:
    """Return a Japanese message for a contract error, naming the field the crew can correct."""
    text = str(exc)
    field = text.removeprefix("invalid field ").split(":", 1)[0].split(".", 1)[0] if text.startswith("invalid field ") else ""
    label = FIELD_LABELS.get(field, "送信内容")
    return f"{label}に使えない文字か範囲外の値があります。"
