"""Activity-record import through a mapping file, and the FDMA series comparison."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hub.__main__ import main
from hub.models import db
from hub.statistics import compare, compute, importing, store
from hub.statistics.models import StatActivityRecord

from .test_views import signed_in

MAPPING = """
encoding = "cp932"
timezone = "Asia/Tokyo"

[columns]
incident_id = "事案番号"
date = "覚知日"
unit = "救急隊"
age = "年齢"
severity = "傷病程度"
call_received = "入電"
arrived_scene = "現着"
departed_scene = "現発"
handover = "引継"
inquiry_count = "照会回数"
myna_attempted = "マイナ救急"

[values.severity]
"重症" = "severe"
"中等症" = "moderate"
"軽症" = "mild"
"""

ROWS = [
    "事案番号,覚知日,救急隊,年齢,傷病程度,入電,現着,現発,引継,照会回数,マイナ救急,氏名",
    "R-1,2026/01/08,南救急1,８３,重症,23:50,23:58,00:30,00:55,4,あり,山田太郎",
    "R-2,2026/01/09,南救急1,45,軽症,10:00,10:09,,,1,なし,鈴木花子",
]


def activity_csv(rows: list[str] = ROWS) -> bytes:
    return ("\r\n".join(rows) + "\r\n").encode("cp932")


def test_import_crosses_midnight(app):
    with app.app_context():
        importing.import_activity_records("FD-A", activity_csv(), MAPPING, "records.csv", "test")
        report = compute.build_report(store.imported_frame("FD-A"), "FD-A")
    assert report.difficult.loc["救急搬送困難事案", "count"] == 1
    assert report.intervals.loc["病院収容所要時間", "mean_min"] == 65.0


def test_import_leaves_out_names(app):
    with app.app_context():
        importing.import_activity_records("FD-A", activity_csv(), MAPPING, "records.csv", "test")
        record = db.session.execute(db.select(StatActivityRecord).where(StatActivityRecord.incident_id == "R-1")).scalar_one()
    assert record.age_band == "80-89"
    assert "山田" not in repr(vars(record))


def test_import_missing_time_stays_missing(app):
    with app.app_context():
        importing.import_activity_records("FD-A", activity_csv(), MAPPING, "records.csv", "test")
        report = compute.build_report(store.imported_frame("FD-A"), "FD-A")
    assert report.intervals.loc["現場滞在時間", "missing"] == 1


def test_import_again_replaces(app):
    with app.app_context():
        importing.import_activity_records("FD-A", activity_csv(), MAPPING, "records.csv", "test")
        result = importing.import_activity_records("FD-A", activity_csv(), MAPPING, "records.csv", "test")
        count = db.session.execute(db.select(db.func.count()).select_from(StatActivityRecord)).scalar_one()
    assert result.replaced == 2
    assert count == 2


def test_bad_row_rejects_whole_file(app):
    rows = [*ROWS, "R-3,2026/01/10,南救急1,50,不明な値,10:00,25:00,,,x,あり,"]
    with app.app_context():
        with pytest.raises(importing.ImportRejected) as rejected:
            importing.import_activity_records("FD-A", activity_csv(rows), MAPPING, "records.csv", "test")
        count = db.session.execute(db.select(db.func.count()).select_from(StatActivityRecord)).scalar_one()
    assert count == 0
    problems = "\n".join(rejected.value.problems)
    assert "4 行目: 傷病程度「不明な値」" in problems
    assert "arrived_scene の時刻 25:00" in problems
    assert "照会回数「x」" in problems


def test_wrong_encoding_explained(app):
    with app.app_context(), pytest.raises(importing.ImportRejected) as rejected:
        importing.import_activity_records("FD-A", activity_csv(), MAPPING.replace("cp932", "utf-8"), "r.csv", "test")
    assert "cp932" in rejected.value.problems[0]


def test_mapping_unknown_field(app):
    with pytest.raises(importing.ImportRejected) as rejected:
        importing.parse_mapping('[columns]\nincident_id = "a"\nname = "氏名"\n')
    assert "name" in rejected.value.problems[0]


def test_mapping_missing_column(app):
    with app.app_context(), pytest.raises(importing.ImportRejected) as rejected:
        importing.import_activity_records("FD-A", activity_csv(), MAPPING.replace('"照会回数"', '"照会数"'), "r.csv", "test")
    assert "照会数" in rejected.value.problems[0]


def test_hub_report_wins_duplicate(app):
    rows = [ROWS[0], "A-1,2026/01/08,南救急1,30,軽症,10:00,10:05,,,0,なし,"]
    with app.app_context():
        importing.import_activity_records("FD-A", activity_csv(rows), MAPPING, "r.csv", "test")
        frame = store.department_frame("FD-A")
    assert list(frame.loc[frame["incident_id"] == "A-1", "source"]) == ["hub"]


def test_import_screen_round_trip(app):
    client = signed_in(app)
    page = client.get("/admin/statistics/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/admin/statistics/import",
        data={
            "csrf_token": token,
            "records": (io.BytesIO(activity_csv()), "records.csv"),
            "mapping": (io.BytesIO(MAPPING.encode("utf-8")), "mapping.toml"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "事案数: <strong>5</strong>" in client.get("/admin/statistics/").get_data(as_text=True)


def test_import_screen_lists_problems(app):
    client = signed_in(app)
    page = client.get("/admin/statistics/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/admin/statistics/import",
        data={
            "csrf_token": token,
            "records": (io.BytesIO(activity_csv([*ROWS, "R-3,2026/99/01,,,,,,,,,,"])), "records.csv"),
            "mapping": (io.BytesIO(MAPPING.encode("utf-8")), "mapping.toml"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "4 行目: 日付「2026/99/01」を読めません" in response.get_data(as_text=True)


@pytest.fixture()
def fdma_loaded(app, shared_data: Path):
    with app.app_context():
        stored = importing.import_fdma_series(shared_data / "fdma")
    return stored


def test_fdma_import_counts(fdma_loaded):
    assert fdma_loaded == {"department": 8423, "prefecture": 7613, "national": 162}


def test_fdma_profile_by_name(app, fdma_loaded):
    with app.app_context():
        assert compare.department_profile("FD-A") == ("北海道", "札幌市消防局")


def test_fdma_first_week_values(app, fdma_loaded):
    with app.app_context():
        result = compare.department_comparison("FD-A", store.department_frame("FD-A"))
    first = result.weekly.loc[min(result.weekly.index)]
    assert first["own_fdma"] == 33
    assert first["national"] == 1395


def test_own_weeks_not_zero_filled(app, fdma_loaded):
    with app.app_context():
        result = compare.department_comparison("FD-A", store.department_frame("FD-A"))
    own = result.weekly["own_records"].dropna()
    assert [week.isoformat() for week in own.index] == ["2026-01-05", "2026-01-19", "2026-02-02"]
    assert own.sum() == 1


def test_fdma_bad_file_rejected(app, tmp_path: Path):
    for name in ("emergencytransport_difficult.csv", "emergencytransport_difficult_pref.csv"):
        (tmp_path / name).write_text("\ufeff都道府県,消防本部名,開始日,終了日,救急搬送困難事案数\n", encoding="utf-8")
    (tmp_path / "emergencytransport_difficult_all.csv").write_text("\ufeff開始日,終了日,救急搬送困難事案数\n2020-13-01,2020-04-05,x\n", encoding="utf-8")
    with app.app_context(), pytest.raises(importing.ImportRejected) as rejected:
        importing.import_fdma_series(tmp_path)
    assert any("2 行目: 開始日" in problem for problem in rejected.value.problems)


def test_compare_screen(app, fdma_loaded):
    text = signed_in(app).get("/admin/statistics/compare").get_data(as_text=True)
    assert "札幌市消防局" in text
    assert text.count("<svg") == 2


def test_cli_import_and_compare(app, fdma_loaded, tmp_path: Path, capsys):
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "r.csv").write_bytes(activity_csv())
    assert main(["stats", "import-activity", "--department", "FD-A", "--mapping", str(tmp_path / "map.toml"), str(tmp_path / "r.csv")]) == 0
    assert main(["stats", "compare", "--department", "FD-A", "--csv", str(tmp_path / "c.csv")]) == 0
    output = capsys.readouterr().out
    assert "2 件を取り込みました" in output
    assert (tmp_path / "c.csv").read_bytes().startswith(b"\xef\xbb\xbf")
