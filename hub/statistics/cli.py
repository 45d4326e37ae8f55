"""``python -m hub stats ...``: the administrator report and imports from a shell.

The command line runs on the hub host with direct database access, so it takes
the fire department code as an argument instead of an admin token. Output for
the operator is Japanese. Exit status: 0 on success, 1 on a database error,
2 on bad input.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from pathlib import Path
import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from hub.models import Organization, db
from hub.statistics import compare, compute, export, importing, store


logger = logging.getLogger(__name__)

# The breakdown columns that fit a terminal; the files carry all of them.
TERMINAL_BREAKDOWN_COLUMNS = [
    compute.BREAKDOWN_COLUMNS[key]
    for key in ("incidents", "response_mean_min", "hospital_mean_min", "scene_mean_min", "difficult", "myna_success_rate")
]


class CommandError(Exception):
    """Bad input on the command line; the message is shown to the operator."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``stats`` subcommands to ``parser``."""
    commands = parser.add_subparsers(dest="stats_command", required=True)

    report = commands.add_parser("report", help="統計レポートを表示・出力します")
    _add_department(report)
    report.add_argument("--from", dest="start", type=_date_arg, help="期間の開始日 (YYYY-MM-DD、入電日・日本時間)")
    report.add_argument("--to", dest="end", type=_date_arg, help="期間の終了日 (YYYY-MM-DD、この日を含む)")
    report.add_argument("--csv", type=Path, help="レポートを CSV (UTF-8 BOM 付き) で書き出すファイル")
    report.add_argument("--xlsx", type=Path, help="レポートを Excel (.xlsx) で書き出すファイル")
    report.add_argument("--records-csv", type=Path, help="匿名化した事案一覧を CSV で書き出すファイル")

    unit = commands.add_parser("unit-station", help="救急隊の所属署所を登録します")
    _add_department(unit)
    unit.add_argument("unit", help="救急隊名 (事案報告の unit_name と同じ表記)")
    unit.add_argument("station", help="署所名")

    activity = commands.add_parser("import-activity", help="既存の活動記録 CSV を列の対応表で取り込みます")
    _add_department(activity)
    activity.add_argument("--mapping", type=Path, required=True, help="列の対応表 (TOML、UTF-8)")
    activity.add_argument("csv_file", type=Path, help="活動記録の CSV")

    fdma = commands.add_parser("import-fdma", help="FDMA の救急搬送困難事案(週次)を取り込みます")
    fdma.add_argument("folder", type=Path, help="emergencytransport_difficult*.csv のあるフォルダ")

    profile = commands.add_parser("profile", help="FDMA 比較に使う都道府県と消防本部名を設定します")
    _add_department(profile)
    profile.add_argument("--prefecture", required=True, help="都道府県名 (例: 北海道)")
    profile.add_argument("--fdma-name", default="", help="FDMA 調査での消防本部名 (調査対象外なら省略)")

    versus = commands.add_parser("compare", help="救急搬送困難事案を都道府県・全国と比較します")
    _add_department(versus)
    versus.add_argument("--csv", type=Path, help="週別の比較表を CSV (UTF-8 BOM 付き) で書き出すファイル")


def run(args: argparse.Namespace) -> int:
    """Run one ``stats`` subcommand inside an application context."""
    from hub.app import create_app

    app = create_app()
    with app.app_context():
        try:
            return _dispatch(args)
        except CommandError as error:
            print(f"エラー: {error}")
            return 2
        except SQLAlchemyError as error:
            db.session.rollback()
            logger.error("statistics command failed on the database: %s", error)
            print("エラー: 統計のデータベースを読み書きできませんでした。統計用のテーブルがない場合は、データベースの移行を実行してください。")
            return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.stats_command == "import-fdma":
        return _import_fdma(args.folder)

    _check_department(args.department)
    if args.stats_command == "report":
        return _report(args)

    if args.stats_command == "unit-station":
        store.set_unit_station(args.department, args.unit, args.station)
        print(f"救急隊「{args.unit}」を署所「{args.station}」に登録しました。")
        return 0

    if args.stats_command == "import-activity":
        return _import_activity(args)

    if args.stats_command == "profile":
        compare.set_department_profile(args.department, args.prefecture, args.fdma_name)
        print(f"比較の対象を 都道府県「{args.prefecture}」、FDMA の消防本部名「{args.fdma_name or '(調査対象外)'}」に設定しました。")
        return 0

    if args.stats_command == "compare":
        return _compare(args)

    raise CommandError(f"不明なサブコマンドです: {args.stats_command}")


def _import_activity(args: argparse.Namespace) -> int:
    try:
        content = args.csv_file.read_bytes()
        mapping_text = args.mapping.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"ファイルを読めません: {error.filename}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise CommandError("対応表は UTF-8 で保存してください。") from error

    try:
        result = importing.import_activity_records(args.department, content, mapping_text, args.csv_file.name, "cli")
    except importing.ImportRejected as rejected:
        print("取り込みませんでした。次の点を直してください:")
        print("\n".join(f"  - {problem}" for problem in rejected.problems))
        return 2

    print(f"{result.inserted + result.replaced} 件を取り込みました(新規 {result.inserted} 件、置き換え {result.replaced} 件)。")
    return 0


def _import_fdma(folder: Path) -> int:
    try:
        stored = importing.import_fdma_series(folder)
    except importing.ImportRejected as rejected:
        print("取り込みませんでした:")
        print("\n".join(f"  - {problem}" for problem in rejected.problems))
        return 2

    print(f"FDMA の系列を取り込みました: 消防本部別 {stored['department']} 行、都道府県別 {stored['prefecture']} 行、全国 {stored['national']} 行。")
    return 0


def _compare(args: argparse.Namespace) -> int:
    result = compare.department_comparison(args.department, store.department_frame(args.department))
    print(f"比較対象: 都道府県 {result.prefecture or '未設定'}、FDMA の消防本部名 {result.fdma_department_name or '未設定'}")
    with pd.option_context("display.unicode.east_asian_width", True, "display.width", 200):
        print(result.totals.rename(columns={"weeks": "週数", "count": "件数"}).to_string(na_rep="-", float_format=lambda v: f"{v:.0f}"))

    if args.csv:
        weekly = result.weekly.rename(columns=compare.SERIES_LABELS)
        weekly.index.name = "週の開始日"
        _write(args.csv, ("\ufeff" + weekly.to_csv(float_format="%.0f", lineterminator="\r\n")).encode("utf-8"), "CSV")

    return 0


def _report(args: argparse.Namespace) -> int:
    if args.start and args.end and args.start > args.end:
        raise CommandError("--from が --to より後になっています。期間を確認してください。")

    frame = store.department_frame(args.department)
    report = compute.build_report(frame, args.department, args.start, args.end)
    print(render_text(report))

    if args.csv:
        _write(args.csv, export.report_csv(report), "CSV")
    if args.xlsx:
        _write(args.xlsx, export.report_xlsx(report), "Excel")
    if args.records_csv:
        _write(args.records_csv, export.records_csv(compute.filter_period(frame, args.start, args.end)), "事案一覧 CSV")

    return 0


def render_text(report: compute.Report) -> str:
    """Return the report as Japanese plain-text tables for a terminal."""
    parts = [" ".join(cells) for cells in export.report_heading(report)]
    with pd.option_context("display.unicode.east_asian_width", True, "display.width", 200, "display.max_columns", 30):
        for _sheet, title, table in export.report_tables(report):
            parts += ["", f"■ {title}", _table_text(table)]

    parts += ["", "内訳表の全項目は --csv または --xlsx で出力できます。"]
    return "\n".join(parts)


def _table_text(table: pd.DataFrame) -> str:
    if table.empty:
        return "(該当なし)"

    if len(table.columns) > len(TERMINAL_BREAKDOWN_COLUMNS):
        table = table[[column for column in table.columns if column in TERMINAL_BREAKDOWN_COLUMNS]]

    return table.to_string(na_rep="-", float_format=lambda value: f"{value:.1f}")


def _write(path: Path, content: bytes, kind: str) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise CommandError(f"{kind} を {path} に書き込めませんでした: {error.strerror}") from error

    print(f"{kind} を {path} に書き出しました。")


def _check_department(code: str) -> None:
    kind = db.session.execute(db.select(Organization.kind).where(Organization.code == code)).scalar_one_or_none()
    if kind != "fire_department":
        raise CommandError(f"消防本部コード {code} は登録されていません。コードを確認してください。")


def _add_department(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--department", required=True, help="消防本部コード")


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"日付 {text!r} は YYYY-MM-DD の形式で指定してください") from error
