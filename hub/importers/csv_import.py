"""Import 資格情報 (qualification) and claims CSV files; the formats are in docs/import-formats.md.

A qualification row creates or updates one insured person and their insurance,
keyed by 保険者番号, 記号, 番号 and 枝番. A claims row adds one visit, medication,
procedure, surgery or dialysis record, keyed by its ``kind`` and ``record_id``,
to an insured person imported before.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from hub.importers.fields import (
    FieldError,
    InsuredNumber,
    digits,
    insured_number,
    normalised,
    optional_date,
    parse_date,
    parse_past_date,
    required,
    whole_number,
)
from hub.importers.report import ImportReport, Progress, ProgressCallback, no_progress
from hub.importers.upsert import BatchWriter, Counts, ParsedLine, too_long_column, upsert_by_import_key
from hub.models import ClinicalItem, Drug, Insurance, Medication, Patient, Visit, db

QUALIFICATION_COLUMNS = (
    "insurer_number", "insurer_name", "symbol", "number", "branch", "relationship", "copay_ratio",
    "valid_from", "valid_to", "limit_category", "family_name", "given_name", "family_kana", "given_kana",
    "birth_date", "sex", "address",
)
CLAIMS_COLUMNS = (
    "record_id", "kind", "insurer_number", "symbol", "number", "branch", "date", "institution_code",
    "institution_name", "department", "code", "name", "ingredient", "dose", "days", "route",
)
CLAIM_KINDS = ("visit", "medication", "eprescription", "procedure", "surgery", "dialysis")
ROUTES = ("内服", "外用", "注射")

# 限度額適用区分 as printed on the certificate, keyed by the NFKC form that the
# parser compares (NFKC turns Ⅲ into III).
LIMIT_CATEGORIES = {
    normalised(name): name
    for name in ("ア", "イ", "ウ", "エ", "オ", "オ(境)", "現役並みⅢ", "現役並みⅡ", "現役並みⅠ",
                 "一般Ⅱ", "一般Ⅰ", "一般", "低所得Ⅱ", "低所得Ⅰ")
}
SEXES = {"1": "1", "2": "2", "男": "1", "女": "2"}
COPAY_RATIOS = {"0": 0, "10": 10, "20": 20, "30": 30, "1割": 10, "2割": 20, "3割": 30}


class CsvFormatError(ValueError):
    """The file as a whole cannot be imported (missing columns, wrong encoding); the message is Japanese."""


@dataclass(frozen=True)
class QualificationLine(ParsedLine):
    insured: InsuredNumber
    patient: dict[str, Any]
    insurance: dict[str, Any]


@dataclass(frozen=True)
class ClaimLine(ParsedLine):
    kind: str
    insured: InsuredNumber
    values: dict[str, Any]


def import_qualifications(path: Path, encoding: str = "utf-8-sig", progress: ProgressCallback = no_progress,
                          batch_size: int = 1000, today: date | None = None) -> ImportReport:
    """Create or update insured persons and their 資格情報 from a qualification CSV file."""
    today = today or datetime.now(timezone.utc).date()
    report = ImportReport(kind="qualification")
    writer = BatchWriter(_store_qualifications, report, path.name, batch_size)
    first_lines: dict[str, str] = {}
    for location, row in _rows(path, encoding, QUALIFICATION_COLUMNS, report, progress, batch_size):
        try:
            line = _qualification_line(location, row, today)
            _reject_repeated_key(line.insurance["import_key"], location, first_lines)
            writer.add(line)
        except FieldError as exc:
            report.reject(path.name, location, str(exc))

    writer.flush()
    return report


def import_claims(path: Path, encoding: str = "utf-8-sig", progress: ProgressCallback = no_progress,
                  batch_size: int = 1000, today: date | None = None) -> ImportReport:
    """Add or update visits, medications, procedures, surgeries and dialysis from a claims CSV file."""
    today = today or datetime.now(timezone.utc).date()
    report = ImportReport(kind="claims")
    writer = BatchWriter(_store_claims, report, path.name, batch_size)
    first_lines: dict[str, str] = {}
    for location, row in _rows(path, encoding, CLAIMS_COLUMNS, report, progress, batch_size):
        try:
            line = _claim_line(location, row, today)
            _reject_repeated_key(line.values["import_key"], location, first_lines)
            writer.add(line)
        except FieldError as exc:
            report.reject(path.name, location, str(exc))

    writer.flush()
    return report


def _reject_repeated_key(key: str, location: str, first_lines: dict[str, str]) -> None:
    first = first_lines.setdefault(key, location)
    if first != location:
        raise FieldError(f"{first} 行目と同じキーの行です(同じファイルの中で重複しています)")


def _rows(path: Path, encoding: str, columns: Sequence[str], report: ImportReport, progress: ProgressCallback,
          progress_every: int) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield (line number, row) for each data row, rejecting malformed rows and repeated keys."""
    total = _count_data_rows(path, encoding)
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        _check_header(reader.fieldnames, columns, path)
        previous_end = reader.line_num
        for row in reader:
            location = str(previous_end + 1)
            previous_end = reader.line_num
            report.rows += 1
            if None in row or None in row.values():
                report.reject(path.name, location, "列の数がヘッダーと違います")
            else:
                yield location, row

            if report.rows % progress_every == 0:
                progress(Progress(report.kind, report.rows, total, len(report.rejected)))

    progress(Progress(report.kind, report.rows, total, len(report.rejected)))


def _count_data_rows(path: Path, encoding: str) -> int:
    try:
        with path.open(encoding=encoding, newline="") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except UnicodeDecodeError:
        raise CsvFormatError(
            f"{path.name} を {encoding} として読めません。文字コードを --encoding で指定してください (例: cp932)"
        ) from None


def _check_header(fieldnames: Sequence[str] | None, columns: Sequence[str], path: Path) -> None:
    present = {normalised(name) for name in fieldnames or ()}
    missing = [column for column in columns if column not in present]
    if missing:
        raise CsvFormatError(f"{path.name} のヘッダーに必要な列がありません: {', '.join(missing)}")


def _qualification_line(location: str, raw: dict[str, str], today: date) -> QualificationLine:
    row = {normalised(name): value for name, value in raw.items()}
    insured = insured_number(row)
    valid_from = parse_date(row["valid_from"], "valid_from", "資格取得日")
    valid_to = optional_date(row["valid_to"], "valid_to", "資格喪失日")
    if valid_to is not None and valid_to < valid_from:
        raise FieldError("資格喪失日 (valid_to) が資格取得日 (valid_from) より前です")

    patient = {
        "import_key": insured.patient_import_key,
        "patient_key": "Q-" + hashlib.sha256(insured.patient_import_key.encode("utf-8")).hexdigest()[:24],
        "family_name": required(row, "family_name", "氏"),
        "given_name": required(row, "given_name", "名"),
        "family_kana": normalised(row["family_kana"]),
        "given_kana": normalised(row["given_kana"]),
        "birth_date": parse_past_date(row["birth_date"], "birth_date", "生年月日", today),
        "sex": _choice(row, "sex", "性別", SEXES),
        "address": normalised(row["address"]),
    }
    insurance = {
        "import_key": "qualification:" + insured.patient_import_key.removeprefix("insured:"),
        "insurer_number": insured.insurer_number,
        "insurer_name": required(row, "insurer_name", "保険者名"),
        "symbol": insured.symbol,
        "number": insured.number,
        "branch": insured.branch,
        "relationship": _choice(row, "relationship", "本人・家族の別", {"本人": "本人", "家族": "家族"}),
        "copay_ratio": _choice(row, "copay_ratio", "負担割合", COPAY_RATIOS),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "limit_category": _limit_category(row),
    }
    _check_lengths(Patient, patient)
    _check_lengths(Insurance, insurance)
    return QualificationLine(location, insured, patient, insurance)


def _choice(row: dict[str, str], column: str, label: str, choices: dict[str, Any]) -> Any:
    value = normalised(row[column])
    if value not in choices:
        allowed = "、".join(choices)
        raise FieldError(f"{label} ({column}) は {allowed} のいずれかにしてください")

    return choices[value]


def _limit_category(row: dict[str, str]) -> str | None:
    value = normalised(row["limit_category"])
    if not value:
        return None

    if value not in LIMIT_CATEGORIES:
        allowed = "、".join(LIMIT_CATEGORIES.values())
        raise FieldError(f"限度額適用区分 (limit_category) は {allowed} のいずれか、または空にしてください")

    return LIMIT_CATEGORIES[value]


def _check_lengths(model: type, values: dict[str, Any]) -> None:
    column = too_long_column(model, values)
    if column is not None:
        raise FieldError(f"{column} 文字を超える値があります")


def _store_qualifications(lines: Sequence[QualificationLine]) -> Counts:
    upsert_by_import_key(Patient, _unique([line.patient for line in lines]))
    patient_ids = _patient_ids({line.insured.patient_import_key for line in lines})
    insurances = [{**line.insurance, "patient_id": patient_ids[line.insured.patient_import_key]} for line in lines]
    return upsert_by_import_key(Insurance, insurances)


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Two lines of one batch may name the same person (two insurances); the last one's name wins.
    return list({row["import_key"]: row for row in rows}.values())


def _patient_ids(keys: set[str]) -> dict[str, int]:
    rows = db.session.execute(db.select(Patient.import_key, Patient.id).where(Patient.import_key.in_(keys)))
    return {key: patient_id for key, patient_id in rows}


def _claim_line(location: str, raw: dict[str, str], today: date) -> ClaimLine:
    row = {normalised(name): value for name, value in raw.items()}
    kind = _choice(row, "kind", "種別", {kind: kind for kind in CLAIM_KINDS})
    record_id = required(row, "record_id", "レコードID")
    insured = insured_number(row)
    day = parse_past_date(row["date"], "date", "日付", today)
    institution_name = normalised(row["institution_name"])
    common = {"import_key": f"claims:{kind}:{record_id}"}

    if kind == "visit":
        values = {
            **common,
            "hospital_code": normalised(row["institution_code"]),
            "hospital_name": required(row, "institution_name", "医療機関名"),
            "visited_on": day,
            "department": normalised(row["department"]),
        }
        model: type = Visit
    elif kind in ("medication", "eprescription"):
        values = {**common, **_medication_values(row, kind, day, institution_name)}
        model = Medication
    else:
        values = {
            **common,
            "category": kind,
            "name": normalised(row["name"]) or ("人工透析" if kind == "dialysis" else required(row, "name", "名称")),
            "recorded_on": day,
            "detail": institution_name or None,
        }
        model = ClinicalItem

    _check_lengths(model, values)
    return ClaimLine(location, kind, insured, values)


def _medication_values(row: dict[str, str], kind: str, day: date, institution_name: str) -> dict[str, Any]:
    code = normalised(row["code"])
    if code and len(code) != 12:
        raise FieldError("薬価基準収載医薬品コード (code) は 12 文字です")

    route = normalised(row["route"]) or "内服"
    if route not in ROUTES:
        raise FieldError(f"投与経路 (route) は {'、'.join(ROUTES)} のいずれか、または空にしてください")

    name = normalised(row["name"])
    if not code and not name:
        raise FieldError("薬剤の名称 (name) とコード (code) がどちらも空です")

    return {
        "drug_code": code,
        "drug_name": name,
        "ingredient": normalised(row["ingredient"]),
        "dispensed_on": day,
        "days": whole_number(row["days"], "days", "日数", default=0),
        "dose": normalised(row["dose"]),
        "hospital_name": institution_name,
        "source": "claims" if kind == "medication" else "eprescription",
        "route": route,
    }


def _store_claims(lines: Sequence[ClaimLine]) -> Counts:
    counts = Counts()
    patient_ids = _patient_ids({line.insured.patient_import_key for line in lines})
    drugs = _drugs({line.values["drug_code"] for line in lines if line.values.get("drug_code")})
    by_model: dict[type, list[dict[str, Any]]] = {Visit: [], Medication: [], ClinicalItem: []}

    for line in lines:
        patient_id = patient_ids.get(line.insured.patient_import_key)
        if patient_id is None:
            counts.rejected.append((line.location, "被保険者が見つかりません。先に資格情報を取り込んでください"))
            continue

        values = {**line.values, "patient_id": patient_id}
        if line.kind in ("medication", "eprescription"):
            if not _fill_from_drug_list(values, drugs):
                counts.rejected.append((line.location, "薬価基準収載医薬品コード (code) が薬価基準にありません。名称 (name) を入れてください"))
                continue

            by_model[Medication].append(values)
        elif line.kind == "visit":
            by_model[Visit].append(values)
        else:
            by_model[ClinicalItem].append(values)

    for model, rows in by_model.items():
        counts.add(upsert_by_import_key(model, rows))

    return counts


def _drugs(codes: set[str]) -> dict[str, Drug]:
    if not codes:
        return {}

    return {drug.code: drug for drug in db.session.execute(db.select(Drug).where(Drug.code.in_(codes))).scalars()}


def _fill_from_drug_list(values: dict[str, Any], drugs: dict[str, Drug]) -> bool:
    """Fill an empty name or ingredient from the 薬価基準 list; False when neither the row nor the list names the drug."""
    drug = drugs.get(values["drug_code"])
    if drug is not None:
        values["drug_name"] = values["drug_name"] or drug.name
        values["ingredient"] = values["ingredient"] or drug.ingredient

    return bool(values["drug_name"])
