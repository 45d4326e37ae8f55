"""``python -m hub stats ...``: the administrator report and imports from a shell.

The command line runs on the hub host with direct database access, so it takes
the fire department code as an argument instead of an admin token. Output for
the operator is Japanese. Exit status: 0 on success, 2 on bad input.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
import pandas as pd

from hub.models import Organization, db
from hub.statistics import compute, export, store


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


def _dispatch(args: argparse.Namespace) -> int:
    _check_department(args.department)
    if args.stats_command == "report":
        return _report(args)

    if args.stats_command == "unit-station":
        store.set_unit_station(args.department, args.unit, args.station)
        print(f"救急隊「{args.unit}」を署所「{args.station}」に登録しました。")
        return 0

    raise CommandError(f"不明なサブコマンドです: {args.stats_command}")


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
