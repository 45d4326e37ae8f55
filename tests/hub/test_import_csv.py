"""Qualification and claims CSV imports: bad rows, re-runs and a large file, on both backends."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from hub.importers.csv_import import CLAIMS_COLUMNS, QUALIFICATION_COLUMNS, CsvFormatError, import_claims, import_qualifications
from hub.models import ClinicalItem, Insurance, Medication, Patient, Visit, db

TODAY = date(2026, 12, 1)


def qualification_row(person: int, **changes: str) -> dict[str, str]:
    row = {
        "insurer_number": "06130012", "insurer_name": "試験健康保険組合", "symbol": "あいう",
        "number": str(person), "branch": "01", "relationship": "本人", "copay_ratio": "30",
        "valid_from": "2020-04-01", "valid_to": "", "limit_category": "",
        "family_name": "輸入", "given_name": f"太郎{person}", "family_kana": "ユニュウ", "given_kana": "タロウ",
        "birth_date": "1960-01-02", "sex": "1", "address": "北海道札幌市",
    }
    row.update(changes)
    return row


def claim_row(record_id: str, person: int, kind: str = "visit", **changes: str) -> dict[str, str]:
    row = {
        "record_id": record_id, "kind": kind, "insurer_number": "06130012", "symbol": "あいう",
        "number": str(person), "branch": "01", "date": "2026-11-20", "institution_code": "0112345678",
        "institution_name": "試験クリニック", "department": "内科", "code": "", "name": "", "ingredient": "",
        "dose": "", "days": "", "route": "",
    }
    row.update(changes)
    return row


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)

    return path


def count(model: type) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_qualification_creates_person_and_insurance(app, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1, limit_category="現役並みⅢ")])
    with app.app_context():
        report = import_qualifications(path, today=TODAY)
        insurance = db.session.execute(db.select(Insurance).where(Insurance.number == "1")).scalar_one()

        assert report.inserted == 1
        assert insurance.limit_category == "現役並みⅢ"
        assert insurance.copay_ratio == 30


def test_qualification_rerun_adds_nothing(app, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(n) for n in range(1, 4)])
    with app.app_context():
        import_qualifications(path, today=TODAY)
        patients_before = count(Patient)
        report = import_qualifications(path, today=TODAY)

        assert report.unchanged == 3
        assert report.inserted == 0
        assert count(Patient) == patients_before


def test_qualification_rerun_updates_changed_row(app, tmp_path):
    first = write_csv(tmp_path / "a.csv", QUALIFICATION_COLUMNS, [qualification_row(1)])
    second = write_csv(tmp_path / "b.csv", QUALIFICATION_COLUMNS, [qualification_row(1, copay_ratio="1割")])
    with app.app_context():
        import_qualifications(first, today=TODAY)
        report = import_qualifications(second, today=TODAY)
        insurance = db.session.execute(db.select(Insurance).where(Insurance.number == "1")).scalar_one()

        assert report.updated == 1
        assert insurance.copay_ratio == 10


def test_qualification_rejects_bad_rows_keeps_good(app, tmp_path):
    rows = [
        qualification_row(1),
        qualification_row(2, birth_date="1960-13-01"),
        qualification_row(3, copay_ratio="50"),
        qualification_row(4, insurer_number="12"),
        qualification_row(5, valid_to="2019-01-01"),
        qualification_row(1),
        qualification_row(6, family_name="長" * 101),
        qualification_row(7),
    ]
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, rows)
    with app.app_context():
        report = import_qualifications(path, today=TODAY)
        rejected = {row.location: row.reason for row in report.rejected}

        assert report.inserted == 2
        assert sorted(rejected) == ["3", "4", "5", "6", "7", "8"]
        assert "生年月日" in rejected["3"]
        assert "負担割合" in rejected["4"]
        assert "保険者番号" in rejected["5"]
        assert "資格喪失日" in rejected["6"]
        assert "2 行目" in rejected["7"]
        assert "family_name" in rejected["8"]


def test_qualification_restores_lost_leading_zero(app, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1, insurer_number="6130012", branch="1")])
    with app.app_context():
        import_qualifications(path, today=TODAY)
        insurance = db.session.execute(db.select(Insurance).where(Insurance.import_key.is_not(None))).scalar_one()

        assert insurance.insurer_number == "06130012"
        assert insurance.branch == "01"


def test_qualification_reads_full_width_and_cp932(app, tmp_path):
    row = qualification_row(1, number="１８７", birth_date="１９６０／０１／０２", given_kana="ﾀﾛｳ")
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [row], encoding="cp932")
    with app.app_context():
        report = import_qualifications(path, encoding="cp932", today=TODAY)
        patient = db.session.execute(db.select(Patient).where(Patient.import_key.is_not(None))).scalar_one()

        assert report.inserted == 1
        assert patient.import_key == "insured:06130012:あいう:187:01"
        assert patient.given_kana == "タロウ"


def test_csv_missing_column_rejects_file(app, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS[:-1], [])
    with app.app_context(), pytest.raises(CsvFormatError, match="address"):
        import_qualifications(path, today=TODAY)


def test_csv_wrong_encoding_rejects_file(app, tmp_path):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1)], encoding="cp932")
    with app.app_context(), pytest.raises(CsvFormatError, match="cp932"):
        import_qualifications(path, today=TODAY)


def test_csv_short_row_rejected(app, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(",".join(QUALIFICATION_COLUMNS) + "\n06130012,試験\n", encoding="utf-8")
    with app.app_context():
        report = import_qualifications(path, today=TODAY)

        assert report.rejected[0].location == "2"
        assert "列の数" in report.rejected[0].reason


def test_claims_store_each_kind(app, tmp_path):
    qualification = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1)])
    claims = write_csv(tmp_path / "c.csv", CLAIMS_COLUMNS, [
        claim_row("R1", 1, "visit"),
        claim_row("R2", 1, "medication", code="333100XXX001", name="ワーファリン錠1mg", ingredient="ワルファリンカリウム", days="28"),
        claim_row("R3", 1, "eprescription", name="カロナール錠200", ingredient="アセトアミノフェン", route="内服"),
        claim_row("R4", 1, "procedure", name="心電図検査"),
        claim_row("R5", 1, "surgery", name="胃切除術"),
        claim_row("R6", 1, "dialysis"),
    ])
    with app.app_context():
        import_qualifications(qualification, today=TODAY)
        report = import_claims(claims, today=TODAY)
        categories = set(db.session.execute(db.select(ClinicalItem.category).where(ClinicalItem.import_key.is_not(None))).scalars())
        sources = set(db.session.execute(db.select(Medication.source).where(Medication.import_key.is_not(None))).scalars())

        assert report.inserted == 6
        assert categories == {"procedure", "surgery", "dialysis"}
        assert sources == {"claims", "eprescription"}


def test_claims_unknown_person_rejected(app, tmp_path):
    claims = write_csv(tmp_path / "c.csv", CLAIMS_COLUMNS, [claim_row("R1", 99)])
    with app.app_context():
        report = import_claims(claims, today=TODAY)

        assert report.rejected[0].location == "2"
        assert "資格情報" in report.rejected[0].reason


def test_claims_fill_drug_from_price_list(app, tmp_path):
    from hub.models import Drug

    qualification = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1)])
    claims = write_csv(tmp_path / "c.csv", CLAIMS_COLUMNS, [
        claim_row("R1", 1, "medication", code="2171014F1020"),
        claim_row("R2", 1, "medication", code="9999999F9999"),
    ])
    with app.app_context():
        db.session.add(Drug(code="2171014F1020", name="アムロジピン錠5mg", ingredient="アムロジピンベシル酸塩"))
        db.session.commit()
        import_qualifications(qualification, today=TODAY)
        report = import_claims(claims, today=TODAY)
        medication = db.session.execute(db.select(Medication).where(Medication.import_key == "claims:medication:R1")).scalar_one()

        assert medication.ingredient == "アムロジピンベシル酸塩"
        assert [row.location for row in report.rejected] == ["3"]


def test_claims_rejects_future_date_and_bad_kind(app, tmp_path):
    qualification = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1)])
    claims = write_csv(tmp_path / "c.csv", CLAIMS_COLUMNS, [
        claim_row("R1", 1, date=(TODAY + timedelta(days=1)).isoformat()),
        claim_row("R2", 1, kind="xray"),
        claim_row("R3", 1),
    ])
    with app.app_context():
        import_qualifications(qualification, today=TODAY)
        report = import_claims(claims, today=TODAY)
        reasons = {row.location: row.reason for row in report.rejected}

        assert "未来" in reasons["2"]
        assert "種別" in reasons["3"]
        assert count(Visit) == 3  # two from the shared fixture plus R3


def test_large_import_is_complete_and_rerunnable(app, tmp_path):
    people = 5_000
    qualification = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(n) for n in range(people)])
    claim_rows = [claim_row(f"V{n}", n % people, "visit", date=(TODAY - timedelta(days=n % 90)).isoformat()) for n in range(45_000)]
    claim_rows[1234]["date"] = "not a date"
    claims = write_csv(tmp_path / "c.csv", CLAIMS_COLUMNS, claim_rows)
    seen_progress = []
    with app.app_context():
        import_qualifications(qualification, today=TODAY)
        first = import_claims(claims, today=TODAY, progress=seen_progress.append, batch_size=5_000)
        second = import_claims(claims, today=TODAY, batch_size=5_000)

        assert first.inserted == 44_999
        assert [row.location for row in first.rejected] == ["1236"]
        assert second.unchanged == 44_999
        assert count(Visit) == 44_999 + 2
        assert seen_progress[-1].processed == 45_000
        assert seen_progress[-1].total == 45_000
