"""The command line and the CSV / .xlsx files, on incidents sent through the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from hub.__main__ import main
from hub.statistics import compute, export, store


def test_cli_report_prints_japanese(app, capsys):
    assert main(["stats", "report", "--department", "FD-A"]) == 0
    output = capsys.readouterr().out
    assert "事案数 3" in output
    assert "救急搬送困難事案" in output


def test_cli_writes_both_files(app, tmp_path: Path, capsys):
    csv_path, xlsx_path = tmp_path / "r.csv", tmp_path / "r.xlsx"
    status = main(["stats", "report", "--department", "FD-A", "--csv", str(csv_path), "--xlsx", str(xlsx_path)])
    assert status == 0
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert openpyxl.load_workbook(xlsx_path).sheetnames[0] == "概要"


def test_cli_unknown_department(app, capsys):
    assert main(["stats", "report", "--department", "NOPE"]) == 2
    assert "登録されていません" in capsys.readouterr().out


def test_cli_reversed_period(app, capsys):
    status = main(["stats", "report", "--department", "FD-A", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert status == 2


def test_cli_period_filters(app, capsys):
    main(["stats", "report", "--department", "FD-A", "--from", "2026-02-01", "--to", "2026-02-28"])
    assert "事案数 1" in capsys.readouterr().out


def test_cli_unit_station(app, capsys):
    assert main(["stats", "unit-station", "--department", "FD-A", "中央救急1", "中央署"]) == 0
    with app.app_context():
        frame = store.department_frame("FD-A")
    assert set(frame["station"].dropna()) == {"中央署"}


def department_report(app, code: str) -> compute.Report:
    with app.app_context():
        return compute.build_report(store.department_frame(code), code)


def test_department_frame_isolated(app):
    with app.app_context():
        frame = store.department_frame("FD-A")
    assert sorted(frame["incident_id"]) == ["A-1", "A-2", "A-3"]


def test_csv_reads_back_in_utf8_sig(app):
    content = export.report_csv(department_report(app, "FD-A")).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[1] == ["消防本部コード", "FD-A"]
    assert ["救急搬送困難事案", "1", "33.33"] in rows


def test_csv_defuses_formulas(app):
    content = export.report_csv(department_report(app, "FD-B")).decode("utf-8-sig")
    assert "'=HYPERLINK" in content
    assert "\n=HYPERLINK" not in content


def test_xlsx_cells_are_text(app):
    workbook = openpyxl.load_workbook(io.BytesIO(export.report_xlsx(department_report(app, "FD-B"))))
    values = [cell.value for row in workbook["救急隊別"].iter_rows() for cell in row]
    assert "'=HYPERLINK(\"x\")" in values


def test_xlsx_difficult_sheet(app):
    workbook = openpyxl.load_workbook(io.BytesIO(export.report_xlsx(department_report(app, "FD-A"))))
    rows = list(workbook["困難事案"].iter_rows(values_only=True))
    assert rows[2] == ("救急搬送困難事案", 1, 33.33)


def test_records_csv_has_no_identity(app):
    with app.app_context():
        frame = store.department_frame("FD-A")
    header = export.records_csv(frame).decode("utf-8-sig").splitlines()[0]
    assert "氏名" not in header
    assert "照会回数" in header


def test_station_from_organization_tree(app):
    from hub import seed
    from hub.models import Organization, db

    from .conftest import auth, report_payload

    with app.app_context():
        db.session.add_all(
            [
                Organization(code="ST-1", kind="station", name="東署", parent_code="FD-A"),
                Organization(code="U-1", kind="unit", name="東救急1", parent_code="ST-1"),
            ]
        )
        db.session.commit()
        seed.seed_clients([seed.ClientSpec("device-u1", "device", "U-1", "device-u1-token")])

    payload = report_payload("U-9", "東救急1", "2026-01-09T10:00:00+09:00", None, None, 1)
    response = app.test_client().post("/api/v1/incident-reports", json=payload, headers=auth("device-u1-token"))
    assert response.status_code == 201
    with app.app_context():
        frame = store.department_frame("FD-A")
    assert list(frame.loc[frame["incident_id"] == "U-9", "station"]) == ["東署"]
