"""Parsers for the public data files the demo and the tests build on.

- 道内医療機関の名簿 (Hokkaido hospital list, 2015-10-01), machine-readable edition by
  三好邦彦, CC BY 2.1 JP: :func:`load_hospitals`.
- 厚生労働省 薬価基準収載品目リスト (MHLW drug price list, 2025-07-16): :func:`load_drugs`.

The files are not part of this repository. Every caller passes a path, and
:func:`public_data_dir` returns the folder the tests and scripts read them from.
The parsers change nothing on disk and fail with ``ValueError`` naming the row
when a value cannot be read, because the files are fixed and a silent skip would
hide a broken download.

Both loaders use the :mod:`csv` module rather than pandas. The cells need
per-field handling anyway (Japanese era dates, ``○`` flags, department lists), and
the csv module returns every cell as the exact string in the file. pandas infers
dtypes unless given ``dtype=str`` and turns empty cells into NaN, so it would add
steps here and save none.
"""

from __future__ import annotations

import csv
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Credits that CC BY 2.1 JP requires wherever the hospital list, or data derived
# from it, is shown or shipped. The wording comes from the licence note that
# ships beside the CSV file.
HOSPITAL_CREDIT = "道内医療機関の名簿（平成27年10月1日現在）, CC BY 2.1 JP 北海道・三好邦彦"
HOSPITAL_SOURCE_URL = "https://github.com/colspan/opendata-jp"
HOSPITAL_LICENSE_URL = "http://creativecommons.org/licenses/by/2.1/jp/"

# The drug price list is government public data and needs no licence notice,
# but the demo names its source wherever drug names appear.
DRUG_CREDIT = "厚生労働省 薬価基準収載品目リスト（2025年7月16日）"
DRUG_SOURCE_URL = "https://github.com/shiro46mt/jp-medicine-master-data"

HOSPITAL_FILE = Path("hospitals/hokkaido_hospital_list_H27.csv")
DRUG_FILE = Path("drugs/mhlw_yakka_kijun_20250716.csv")

DATA_DIR_ENV = "MYNA_SHARED_DATA"

# Hokkaido including Rishiri, Rebun and Okushiri, but not the Kuril Islands,
# as (south, north, west, east) in degrees.
HOKKAIDO_BOUNDS = (41.3, 45.6, 139.3, 146.0)

HOSPITAL_CODE_PREFIX = "HKD"
DRUG_CODE_LENGTH = 12

_HOSPITAL_COLUMNS = (
    "id",
    "hospital_name",
    "開設許可年月日",
    "開設年月日",
    "postal_num",
    "address",
    "services",
    "emergency",
    "phone_number",
    "latitude",
    "longtitude",  # sic: the source file spells the column this way
    "sickbed_num",
    "general",
    "recuperation",
    "psychosis",
    "tuberculosis",
    "infected",
    "brain_ambulance",
)
_BED_CATEGORY_COLUMNS = ("general", "recuperation", "psychosis", "tuberculosis", "infected")

_DRUG_COLUMNS = ("区分", "薬価基準収載医薬品コード", "成分名", "規格", "麻薬", "品名", "薬価")

_FLAG_SET = "○"
_NARCOTIC_FLAG = "麻"

# First Gregorian year of each era, keyed by the kanji and the Latin initial.
_ERA_FIRST_YEAR = {
    "明": 1868, "M": 1868,
    "大": 1912, "T": 1912,
    "昭": 1926, "S": 1926,
    "平": 1989, "H": 1989,
    "令": 2019, "R": 2019,
}
_ERA_DATE = re.compile(
    r"(?P<era>[明大昭平令MTSHR])(?P<era_repeat>[明大昭平令MTSHR])?"
    r"(?P<year>元|\d{1,2})\.(?P<month>\d{1,2})(?:\.(?P<day>\d{1,2}))?"
)

_DEPARTMENT_SEPARATORS = ("|", "，")
_OPENING_BRACKETS = "「（("
_CLOSING_BRACKETS = "」）)"

# A municipality in an address: a 郡 followed by its town or village, a ward of
# 札幌市 (the only city in Hokkaido with wards) or a city. The 郡 form is tried
# first because some 郡 names contain 市 (余市郡余市町).
_DISTRICT_TOWN = re.compile(r"(?P<name>[^\d０-９]+?郡[^\d０-９]+?[町村])")
_SAPPORO_WARD = re.compile(r"(?P<name>札幌市[^\d０-９]+?区)")
_CITY = re.compile(r"(?P<name>[^\d０-９郡]+?市)")


@dataclass(frozen=True)
class HospitalRecord:
    """One hospital of the Hokkaido list.

    ``code`` is ``HKD`` plus the source file's ``id`` column zero-padded to four
    digits (``HKD0001``). The id is unique in the file and stays the same however
    the rows are read or filtered, and it points back to the source row. The
    fields after ``beds`` are extra columns of the source with defaults, so code
    that builds records from the first eight fields keeps working.
    """

    code: str
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    emergency_designated: bool
    departments: tuple[str, ...]
    beds: int | None
    postal_code: str = ""
    phone: str = ""
    permitted_on: date | None = None
    opened_on: date | None = None
    acute_stroke_care: bool = False


@dataclass(frozen=True)
class DrugRecord:
    """One product of the MHLW drug price list.

    ``code`` is the 12-character 薬価基準収載医薬品コード. ``strength`` is the
    規格 column as given, in full-width characters (``５ｍｇ１錠``). ``category``
    is the 区分 column: 内用薬, 注射薬, 外用薬 or 歯科用薬剤.
    """

    code: str
    name: str
    ingredient: str
    strength: str
    price_yen: float | None
    narcotic: bool
    category: str = ""


def public_data_dir() -> Path:
    """Return the folder that contains the public data files.

    ``MYNA_SHARED_DATA`` sets it. Without that variable the folder is
    ``shared/data`` beside the repository checkout.
    """
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured)

    return Path(__file__).resolve().parents[2] / "shared" / "data"


# ---------------------------------------------------------------------------
# Hospital list


def load_hospitals(path: Path) -> list[HospitalRecord]:
    """Parse the Hokkaido hospital list, one record per row in file order.

    Raises ``ValueError`` naming the row id when a column is missing, an id is
    repeated or a cell cannot be read. ``UnicodeDecodeError`` means the file is
    not UTF-8 (the published file is UTF-8 without a byte order mark).
    """
    records: list[HospitalRecord] = []
    seen_codes: set[str] = set()

    for row in _read_csv_rows(path, _HOSPITAL_COLUMNS):
        try:
            record = _parse_hospital_row(row)
        except ValueError as error:
            raise ValueError(f"{path}: hospital id {row['id']!r}: {error}") from error

        if record.code in seen_codes:
            raise ValueError(f"{path}: hospital id {row['id']!r} appears twice")

        seen_codes.add(record.code)
        records.append(record)

    return records


def _parse_hospital_row(row: dict[str, str]) -> HospitalRecord:
    latitude = _parse_float(row["latitude"])
    longitude = _parse_float(row["longtitude"])
    if not in_hokkaido(latitude, longitude):
        # One row (北の峰病院, 富良野市) is geocoded to 34.9 N 137.0 E, in Aichi.
        # A wrong point would send an ambulance the wrong way, so drop it.
        latitude = longitude = None

    return HospitalRecord(
        code=hospital_code(row["id"]),
        name=row["hospital_name"].strip(),
        address=row["address"].strip(),
        latitude=latitude,
        longitude=longitude,
        emergency_designated=_parse_flag(row["emergency"], "emergency"),
        departments=split_departments(row["services"]),
        beds=_parse_beds(row),
        postal_code=row["postal_num"].strip(),
        phone=row["phone_number"].strip(),
        permitted_on=parse_japanese_date(row["開設許可年月日"]),
        opened_on=parse_japanese_date(row["開設年月日"]),
        acute_stroke_care=_parse_flag(row["brain_ambulance"], "brain_ambulance"),
    )


def hospital_code(source_id: str) -> str:
    """Return the record code for the source file's ``id`` cell (``"1"`` → ``"HKD0001"``)."""
    text = source_id.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"invalid hospital id {source_id!r}: expected a decimal number")

    return f"{HOSPITAL_CODE_PREFIX}{int(text):04d}"


def parse_japanese_date(text: str) -> date | None:
    """Parse a Japanese era date such as ``平15.1.10`` into a :class:`date`.

    Accepts the era as kanji or Latin initial (``平``/``H``), ``元`` for the
    first year, full-width digits and points, commas in place of points and
    whitespace anywhere (one cell has a newline after the era). A doubled era
    of the same era (``平H27.8.1``) is read once. Returns ``None`` for an empty
    cell and for a year and month without a day (``昭5.10``), because any day
    filled in would be made up. Raises ``ValueError`` for anything else.
    """
    normalized = unicodedata.normalize("NFKC", text)
    compact = "".join(normalized.split()).replace(",", ".")
    if not compact:
        return None

    match = _ERA_DATE.fullmatch(compact)
    if match is None:
        raise ValueError(f"invalid Japanese era date {text!r}: expected an era, year, month and day such as 平15.1.10")

    first_year = _ERA_FIRST_YEAR[match["era"]]
    repeated = match["era_repeat"]
    if repeated is not None and _ERA_FIRST_YEAR[repeated] != first_year:
        raise ValueError(f"invalid Japanese era date {text!r}: two different eras")

    if match["day"] is None:
        return None

    era_year = 1 if match["year"] == "元" else int(match["year"])
    return date(first_year + era_year - 1, int(match["month"]), int(match["day"]))


def split_departments(text: str) -> tuple[str, ...]:
    """Split the ``services`` cell into department names, in source order.

    Departments are separated by ``|`` and in a few rows by a full-width comma.
    Inside brackets a ``|`` joins parts of one name, because the machine-readable
    edition turned every ``・`` of the original list into ``|``. The parts are
    rejoined with ``・``, so ``「糖尿病|内分泌内科」`` becomes ``糖尿病・内分泌内科``
    and ``内（消化器|循環器）`` becomes ``内（消化器・循環器）``. The 「」 quotes only
    grouped the name and are removed. Abbreviations (``内``, ``整``) stay as given.
    """
    departments: list[str] = []

    for piece in _split_outside_brackets(text):
        name = piece.strip()
        if name.startswith("「") and name.endswith("」"):
            name = name[1:-1]

        name = name.replace("|", "・").strip()
        if name:
            departments.append(name)

    return tuple(departments)


def _split_outside_brackets(text: str) -> Iterator[str]:
    depth = 0
    current: list[str] = []

    for char in text:
        if char in _OPENING_BRACKETS:
            depth += 1
        elif char in _CLOSING_BRACKETS:
            depth = max(depth - 1, 0)

        if depth == 0 and char in _DEPARTMENT_SEPARATORS:
            yield "".join(current)
            current = []
        else:
            current.append(char)

    yield "".join(current)


def municipality_of(address: str) -> str | None:
    """Return the municipality at the start of an address, or ``None``.

    The result includes the 郡 of a town or village and the ward of 札幌市:
    ``亀田郡七飯町``, ``函館市``, ``札幌市中央区``. A leading ``北海道`` is skipped.
    """
    text = address.strip().removeprefix("北海道")

    for pattern in (_DISTRICT_TOWN, _SAPPORO_WARD, _CITY):
        match = pattern.match(text)
        if match is not None:
            return match["name"]

    return None



def in_hokkaido(latitude: float | None, longitude: float | None) -> bool:
    """Return whether a point lies inside :data:`HOKKAIDO_BOUNDS`. A missing coordinate is outside."""
    if latitude is None or longitude is None:
        return False

    south, north, west, east = HOKKAIDO_BOUNDS
    return south <= latitude <= north and west <= longitude <= east


def distance_km(latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float) -> float:
    """Return the great-circle distance between two points in kilometres (haversine, mean Earth radius)."""
    earth_radius_km = 6371.0
    phi_a = math.radians(latitude_a)
    phi_b = math.radians(latitude_b)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(longitude_b - longitude_a)

    a = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * earth_radius_km * math.asin(math.sqrt(a))


def _parse_beds(row: dict[str, str]) -> int | None:
    # sickbed_num is the total. One row leaves it empty but fills a bed
    # category, so the categories are summed when the total is missing.
    total = _parse_int(row["sickbed_num"])
    if total is not None:
        return total

    categories = [_parse_int(row[column]) for column in _BED_CATEGORY_COLUMNS]
    counted = [count for count in categories if count is not None]
    return sum(counted) if counted else None


def _parse_flag(text: str, column: str) -> bool:
    value = text.strip()
    if value == _FLAG_SET:
        return True

    if value == "":
        return False

    raise ValueError(f"invalid {column} flag {text!r}: expected {_FLAG_SET} or an empty cell")


def _parse_int(text: str) -> int | None:
    # Whitespace-only cells (ASCII or U+3000) mean "no value" in this file.
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        return None

    if not value.isdigit():
        raise ValueError(f"invalid count {text!r}: expected a whole number")

    return int(value)


def _parse_float(text: str) -> float | None:
    value = unicodedata.normalize("NFKC", text).strip()
    if not value:
        return None

    try:
        return float(value)
    except ValueError:
        raise ValueError(f"invalid number {text!r}: expected a decimal number") from None


# ---------------------------------------------------------------------------
# Drug price list


def load_drugs(path: Path) -> list[DrugRecord]:
    """Parse the MHLW drug price list, one record per product in file order.

    Product names lose trailing whitespace and nothing else changes: full-width
    characters and the U+3000 inside 257 names stay as published. Raises
    ``ValueError`` naming the row when a code is not 12 characters or appears
    twice, the 麻薬 flag is unknown or the price is not a number.
    """
    records: list[DrugRecord] = []
    seen_codes: set[str] = set()

    for line_number, row in enumerate(_read_csv_rows(path, _DRUG_COLUMNS), start=2):
        try:
            record = _parse_drug_row(row)
        except ValueError as error:
            raise ValueError(f"{path}: record {line_number}: {error}") from error

        if record.code in seen_codes:
            raise ValueError(f"{path}: record {line_number}: drug code {record.code!r} appears twice")

        seen_codes.add(record.code)
        records.append(record)

    return records


def _parse_drug_row(row: dict[str, str]) -> DrugRecord:
    code = row["薬価基準収載医薬品コード"]
    if len(code) != DRUG_CODE_LENGTH:
        raise ValueError(f"invalid drug code {code!r}: expected {DRUG_CODE_LENGTH} characters")

    narcotic_flag = row["麻薬"].strip()
    if narcotic_flag not in ("", _NARCOTIC_FLAG):
        raise ValueError(f"invalid 麻薬 flag {narcotic_flag!r}: expected {_NARCOTIC_FLAG} or an empty cell")

    return DrugRecord(
        code=code,
        name=row["品名"].rstrip(),
        ingredient=row["成分名"],
        strength=row["規格"],
        price_yen=_parse_float(row["薬価"]),
        narcotic=narcotic_flag == _NARCOTIC_FLAG,
        category=row["区分"],
    )


def find_drugs(
    drugs: Iterable[DrugRecord],
    ingredient: str,
    *,
    strength: str | None = None,
    category: str | None = None,
    include_combinations: bool = False,
) -> list[DrugRecord]:
    """Return the products whose 成分名 contains ``ingredient``, sorted by code.

    ``strength`` and ``category`` must match the 規格 and 区分 columns exactly
    (full-width, as published). Combination products, whose 成分名 joins
    ingredients with ``・``, are left out unless ``include_combinations`` is set
    or ``ingredient`` itself contains ``・``.
    """
    allow_combinations = include_combinations or "・" in ingredient
    matches = [
        drug
        for drug in drugs
        if ingredient in drug.ingredient
        and (strength is None or drug.strength == strength)
        and (category is None or drug.category == category)
        and (allow_combinations or "・" not in drug.ingredient)
    ]
    return sorted(matches, key=lambda drug: drug.code)


# ---------------------------------------------------------------------------
# Shared CSV reading


def _read_csv_rows(path: Path, required_columns: Iterable[str]) -> Iterator[dict[str, str]]:
    # newline="" lets the csv module keep the newline inside a quoted cell
    # instead of splitting the record there. "utf-8-sig" also accepts a byte
    # order mark, which some editors add when saving these files.
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        header = reader.fieldnames or []
        missing = [column for column in required_columns if column not in header]
        if missing:
            names = ", ".join(missing)
            raise ValueError(f"{path}: missing columns {names}. Check that the path points to the right list.")

        for row in reader:
            if None in row:
                raise ValueError(f"{path}: record {reader.line_num} has more cells than the header")

            yield {key: value if value is not None else "" for key, value in row.items()}
