"""照合番号B and the Japanese era years it is built from.

照合番号B unlocks the 基本4情報 in the text AP and the card face in the visual AP
without the individual number. It has 14 digits: the birth date as YYMMDD with the
year in the era printed on the card (昭和55 for 1980), the card's expiry year as four
Gregorian digits, and the 4-digit security code printed on the card. One reverse-
engineering source confirmed the era year on a test card, and an SDK mock and a
TypeScript library agree on the YYMMDD + YYYY + code layout.

This module only composes and validates the value. It never logs or stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mynacard.errors import InvalidPinFormatError

VERIFICATION_NUMBER_B_LENGTH = 14
SECURITY_CODE_LENGTH = 4

_DIGITS_14 = re.compile(r"[0-9]{14}")
_DIGITS_4 = re.compile(r"[0-9]{4}")


@dataclass(frozen=True)
class Era:
    """A Japanese era (元号): its name, the code JPKI certificates use, and its first day."""

    name: str
    code: int
    first_day: date


# Latest first. Codes are those of the signature certificate's birth-date field
# (1 明治, 2 大正, 3 昭和, 4 平成, 5 令和).
ERAS = (
    Era("令和", 5, date(2019, 5, 1)),
    Era("平成", 4, date(1989, 1, 8)),
    Era("昭和", 3, date(1926, 12, 25)),
    Era("大正", 2, date(1912, 7, 30)),
    Era("明治", 1, date(1868, 1, 25)),
)


def era_of(day: date) -> Era:
    """Return the era that ``day`` falls in; raise ValueError before 明治."""
    for era in ERAS:
        if day >= era.first_day:
            return era
    raise ValueError(f"{day.isoformat()} is before the 明治 era")


def era_year(day: date) -> int:
    """Return the year of ``day`` within its era, where the first year (元年) is 1."""
    return day.year - era_of(day).first_day.year + 1


def printed_birth_date(birth_date: date, *, gregorian: bool = False) -> str:
    """Return the birth date as YYMMDD the way the card prints it.

    The year is the era year, or the last two Gregorian digits when ``gregorian`` is
    True, which is how a foreign resident's card prints it.
    """
    # NOTE: the Gregorian form for foreign residents follows the old 住基カード rule;
    # no source confirms it for a My Number Card.
    year = birth_date.year % 100 if gregorian else era_year(birth_date)
    return f"{year:02d}{birth_date.month:02d}{birth_date.day:02d}"


def verification_number_b(
    birth_date: date, card_expiry: date, security_code: str, *, gregorian_birth: bool = False
) -> str:
    """Compose 照合番号B: printed birth date YYMMDD, expiry year YYYY and the security code."""
    if not isinstance(security_code, str) or not _DIGITS_4.fullmatch(security_code):
        raise InvalidPinFormatError(
            "the security code must be 4 ASCII digits",
            user_message="セキュリティコードは4桁の数字で入力してください。",
        )
    value = printed_birth_date(birth_date, gregorian=gregorian_birth) + f"{card_expiry.year:04d}" + security_code
    return validate_verification_number_b(value)


def validate_verification_number_b(value: str) -> str:
    """Return ``value`` when it is 14 ASCII digits; raise InvalidPinFormatError otherwise."""
    if not isinstance(value, str) or not _DIGITS_14.fullmatch(value):
        raise InvalidPinFormatError(
            "照合番号B must be 14 ASCII digits",
            user_message="照合番号Bは、生年月日6桁・有効期限の西暦4桁・セキュリティコード4桁の計14桁の数字です。",
        )
    return value
