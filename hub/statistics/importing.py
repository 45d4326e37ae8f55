"""Import of existing activity records (CSV + column-mapping file) and of the FDMA series.

An activity-record import is all or nothing: every row is checked first, and
one bad row rejects the whole file with a Japanese message per problem, so a
half-imported file never skews the figures. The mapping file format is
described in docs/statistics.md; :func:`parse_mapping` checks it.

The FDMA weekly 救急搬送困難事案 files (CSV, UTF-8 with BOM) are loaded whole:
each import replaces the stored series of that level.
"""

from __future__ import annotations

import io
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import delete, insert

from hub.contract import SEVERITIES
from hub.models import db
from hub.statistics.models import StatActivityRecord, StatFdmaWeekly, StatImportBatch

TIME_FIELDS = ("call_received", "arrived_scene", "departed_scene", "handover")
BOOLEAN_FIELDS = ("myna_attempted", "myna_card_present", "myna_card_read", "myna_linked", "myna_viewed")
TEXT_FIELDS = ("station", "unit", "age_band", "sex", "jcs", "severity", "myna_consent_mode", "myna_stop_reason")
MAPPABLE_FIELDS = ("incident_id", "date", "age", "inquiry_count", *TIME_FIELDS, *BOOLEAN_FIELDS, *TEXT_FIELDS)

DEFAULT_TRUE = ("1", "true", "yes", "はい", "あり", "有", "○", "〇", "済")
DEFAULT_FALSE = ("0", "false", "no", "いいえ", "なし", "無", "", "×", "未")
MAX_REPORTED_ERRORS = 50
TIME_ONLY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
DATE_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%Y%m%d")

FDMA_FILES = {
    "department": ("emergencytransport_difficult.csv", ("都道府県", "消防本部名", "開始日", "終了日", "救急搬送困難事案数")),
    "prefecture": ("emergencytransport_difficult_pref.csv", ("都道府県", "開始日", "終了日", "救急搬送困難事案数")),
    "national": ("emergencytransport_difficult_all.csv", ("開始日", "終了日", "救急搬送困難事案数")),
}


class ImportRejected(Exception):
    """The file was not imported; ``problems`` lists why, in Japanese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"import rejected with {len(problems)} problems")
        self.problems = problems


@dataclass
class Mapping:
    """A parsed column-mapping file."""

    columns: dict[str, str]
    encoding: str = "utf-8-sig"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Tokyo"))
    datetime_format: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE


@dataclass
class ImportResult:
    batch_id: int
    inserted: int
    replaced: int


def parse_mapping(text: str) -> Mapping:
    """Parse and check a TOML column-mapping file; raise ImportRejected naming each problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ImportRejected([f"対応表ファイルを読めません(TOML 形式の誤り): {error}"]) from error

    problems = []
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ImportRejected(["対応表に [columns] 表(項目名 = \"CSV の列名\")がありません。"])

    unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
    if unknown:
        problems.append(f"対応表の項目名が不明です: {', '.join(unknown)}(使える項目: {', '.join(MAPPABLE_FIELDS)})")
    if "incident_id" not in columns:
        problems.append("対応表に incident_id(事案番号の列)がありません。")
    if "age" in columns and "age_band" in columns:
        problems.append("age と age_band はどちらか一方だけを指定してください。")

    mapping = Mapping(columns=dict(columns))
    mapping.encoding = str(raw.get("encoding", mapping.encoding))
    mapping.datetime_format = raw.get("datetime_format")
    try:
        "".encode(mapping.encoding)
        mapping.zone = ZoneInfo(str(raw.get("timezone", "Asia/Tokyo")))
    except LookupError:
        problems.append(f"文字コード {mapping.encoding!r} は使えません。utf-8-sig か cp932 を指定してください。")
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"タイムゾーン {raw.get('timezone')!r} が見つかりません。Asia/Tokyo などを指定してください。")

    values = raw.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(table, dict) for table in values.values()):
        problems.append("[values.項目名] 表は「CSV の値 = 取込み後の値」の形で書いてください。")
    else:
        mapping.values = {name: {str(k): str(v) for k, v in table.items()} for name, table in values.items()}

    booleans = raw.get("booleans", {})
    mapping.true_values = tuple(str(v) for v in booleans.get("true", DEFAULT_TRUE))
    mapping.false_values = tuple(str(v) for v in booleans.get("false", DEFAULT_FALSE))

    if problems:
        raise ImportRejected(problems)

    return mapping


def read_activity_csv(content: bytes, mapping: Mapping) -> list[dict[str, Any]]:
    """Decode, parse and check every row; return the records or raise ImportRejected."""
    try:
        text = content.decode(mapping.encoding)
    except UnicodeDecodeError as error:
        raise ImportRejected(
            [f"CSV を文字コード {mapping.encoding} として読めません(位置 {error.start})。対応表の encoding を確認してください(Shift_JIS なら cp932)。"]
        ) from error

    table = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False)
    missing = [column for column in mapping.columns.values() if column not in table.columns]
    if missing:
        raise ImportRejected([f"CSV に列がありません: {', '.join(missing)}(対応表の列名と CSV の 1 行目を確認してください)"])

    records, problems = [], []
    seen: set[str] = set()
    for offset, raw in enumerate(table.to_dict(orient="records")):
        line = offset + 2  # 1-based, after the header line
        row_problems: list[str] = []
        record = _convert_row(raw, mapping, row_problems)
        if record.get("incident_id") in seen:
            row_problems.append(f"事案番号 {record['incident_id']} が同じファイル内で重複しています")
        seen.add(record.get("incident_id", ""))
        problems += [f"{line} 行目: {problem}" for problem in row_problems]
        records.append(record)

    if problems:
        shown = problems[:MAX_REPORTED_ERRORS]
        if len(problems) > MAX_REPORTED_ERRORS:
            shown.append(f"ほか {len(problems) - MAX_REPORTED_ERRORS} 件の問題があります。")
        raise ImportRejected(shown)

    if not records:
        raise ImportRejected(["CSV にデータ行がありません。"])

    return records


def import_activity_records(department_code: str, content: bytes, mapping_text: str, filename: str, actor: str) -> ImportResult:
    """Import one activity-record CSV for one department; replaces records with the same incident id."""
    mapping = parse_mapping(mapping_text)
    records = read_activity_csv(content, mapping)

    ids = [record["incident_id"] for record in records]
    existing = set(
        db.session.execute(
            db.select(StatActivityRecord.incident_id).where(StatActivityRecord.fire_department_code == department_code)
        ).scalars()
    )
    replaced = len(existing.intersection(ids))

    batch = StatImportBatch(fire_department_code=department_code, filename=filename[:300], actor=actor, row_count=len(records))
    db.session.add(batch)
    db.session.flush()
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        db.session.execute(
            delete(StatActivityRecord).where(
                StatActivityRecord.fire_department_code == department_code, StatActivityRecord.incident_id.in_(chunk)
            )
        )
    rows = [{**record, "fire_department_code": department_code, "batch_id": batch.id} for record in records]
    db.session.execute(insert(StatActivityRecord), rows)
    db.session.commit()
    return ImportResult(batch_id=batch.id, inserted=len(records) - replaced, replaced=replaced)


def _convert_row(raw: dict[str, str], mapping: Mapping, problems: list[str]) -> dict[str, Any]:
    def cell(name: str) -> str:
        column = mapping.columns.get(name)
        value = unicodedata.normalize("NFKC", raw.get(column, "")).strip() if column else ""
        return mapping.values.get(name, {}).get(value, value)

    record: dict[str, Any] = {"incident_id": cell("incident_id")}
    if not record["incident_id"]:
        problems.append("事案番号が空です")
    elif len(record["incident_id"]) > 64:
        problems.append("事案番号が64文字を超えています")

    for name in TEXT_FIELDS:
        record[name] = cell(name) or None
    if record["severity"] is not None and record["severity"] not in SEVERITIES:
        problems.append(f"傷病程度「{record['severity']}」が不明です([values.severity] で {', '.join(SEVERITIES)} に対応させてください)")

    if "age" in mapping.columns:
        record["age_band"] = _age_band(cell("age"), problems)

    record["inquiry_count"] = _count(cell("inquiry_count"), problems) if "inquiry_count" in mapping.columns else None
    for name in BOOLEAN_FIELDS:
        record[name] = _boolean(cell(name), name, mapping, problems) if name in mapping.columns else False

    _convert_times(record, cell, mapping, problems)
    return record


def _convert_times(record: dict[str, Any], cell: Any, mapping: Mapping, problems: list[str]) -> None:
    """Parse the timeline; with a separate date column, times roll past midnight in timeline order."""
    base_day = _parse_date(cell("date"), problems) if "date" in mapping.columns else None
    previous: datetime | None = None
    for name in TIME_FIELDS:
        text = cell(name) if name in mapping.columns else ""
        if not text:
            record[name] = None
            continue

        local = _parse_time(text, base_day, mapping, problems, name)
        if local is not None and base_day is not None and TIME_ONLY.match(text) and previous and local < previous:
            # NOTE: a time-only field earlier than the previous time is taken as
            # the next day, so a reversed entry within one day cannot be detected.
            local += timedelta(days=1)
        previous = local or previous
        record[name] = None if local is None else local.astimezone(timezone.utc)


def _parse_time(text: str, base_day: date | None, mapping: Mapping, problems: list[str], name: str) -> datetime | None:
    match = TIME_ONLY.match(text)
    if match:
        if base_day is None:
            problems.append(f"{name} が時刻だけ({text})ですが、日付の列(date)が対応表にありません")
            return None
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            problems.append(f"{name} の時刻 {text} が正しくありません")
            return None
        return datetime(base_day.year, base_day.month, base_day.day, hour, minute, second, tzinfo=mapping.zone)

    formats = (mapping.datetime_format,) if mapping.datetime_format else DATE_TIME_FORMATS
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=mapping.zone)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} の日時「{text}」を読めません(例: 2026/01/05 10:08)")
        return None

    return parsed if parsed.tzinfo else parsed.replace(tzinfo=mapping.zone)


def _parse_date(text: str, problems: list[str]) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue

    problems.append(f"日付「{text}」を読めません(例: 2026/01/05)")
    return None


def _age_band(text: str, problems: list[str]) -> str | None:
    if not text:
        return None
    if not text.isdigit() or int(text) > 130:
        problems.append(f"年齢「{text}」が正しくありません(0～130 の整数)")
        return None

    lower = int(text) // 10 * 10
    return f"{lower}-{lower + 9}"


def _count(text: str, problems: list[str]) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        problems.append(f"照会回数「{text}」が正しくありません(0 以上の整数)")
        return None

    return int(text)


def _boolean(text: str, name: str, mapping: Mapping, problems: list[str]) -> bool:
    if text.lower() in mapping.true_values:
        return True
    if text.lower() in mapping.false_values:
        return False

    problems.append(f"{name} の値「{text}」が はい/いいえ のどちらか分かりません([booleans] で指定できます)")
    return False


def import_fdma_series(folder: Path) -> dict[str, int]:
    """Load the three FDMA files from ``folder``; return rows stored per level."""
    frames = {level: _read_fdma_file(folder / filename, columns) for level, (filename, columns) in FDMA_FILES.items()}
    stored = {}
    for level, frame in frames.items():
        db.session.execute(delete(StatFdmaWeekly).where(StatFdmaWeekly.level == level))
        rows = [
            {
                "level": level,
                "prefecture": row.get("都道府県", ""),
                "department_name": row.get("消防本部名", ""),
                "week_start": row["開始日"],
                "week_end": row["終了日"],
                "count": row["救急搬送困難事案数"],
            }
            for row in frame.to_dict(orient="records")
        ]
        if rows:
            db.session.execute(insert(StatFdmaWeekly), rows)
        stored[level] = len(rows)

    db.session.commit()
    return stored


def _read_fdma_file(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except FileNotFoundError as error:
        raise ImportRejected([f"FDMA のファイル {path} が見つかりません。"]) from error
    except UnicodeDecodeError as error:
        raise ImportRejected([f"FDMA のファイル {path.name} を UTF-8 として読めません。"]) from error

    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ImportRejected([f"{path.name} に列がありません: {', '.join(missing)}"])

    problems = []
    for name in ("開始日", "終了日"):
        parsed = pd.to_datetime(frame[name], format="%Y-%m-%d", errors="coerce")
        for line in (parsed[parsed.isna()].index + 2)[:5]:
            problems.append(f"{path.name} {line} 行目: {name}「{frame.loc[line - 2, name]}」が YYYY-MM-DD ではありません")
        frame[name] = parsed.dt.date

    counts = pd.to_numeric(frame["救急搬送困難事案数"], errors="coerce")
    for line in (counts[counts.isna() | (counts < 0)].index + 2)[:5]:
        problems.append(f"{path.name} {line} 行目: 救急搬送困難事案数が 0 以上の整数ではありません")
    if problems:
        raise ImportRejected(problems)

    frame["救急搬送困難事案数"] = counts.astype(int)
    return frame
