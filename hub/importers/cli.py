"""``python -m hub import ...``: run an importer and show its progress and result in Japanese."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TextIO

from hub.importers.csv_import import CsvFormatError, import_claims, import_qualifications
from hub.importers.fhir_import import import_fhir_files
from hub.importers.report import ImportReport, Progress

KIND_LABELS = {"qualification": "資格情報", "claims": "レセプト", "fhir": "FHIR"}
SHOWN_REJECTS = 20

# Exit codes: every row stored, the file could not be read, some rows rejected.
EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import", help="資格情報・レセプト CSV や FHIR ファイルを取り込みます")
    kinds = parser.add_subparsers(dest="kind", required=True)
    for kind, help_text in (("qualification", "資格情報 CSV を取り込みます"), ("claims", "レセプト CSV を取り込みます")):
        sub = kinds.add_parser(kind, help=help_text)
        sub.add_argument("file", type=Path, help="CSV ファイル (形式は docs/import-formats.md)")
        sub.add_argument("--encoding", default="utf-8-sig", help="文字コード (既定: utf-8-sig、Shift_JIS なら cp932)")
        sub.add_argument("--rejects", type=Path, help="取り込めなかった行を書き出す CSV ファイル")

    fhir = kinds.add_parser("fhir", help="JP-CLINS・IPS の FHIR JSON (Bundle または単独リソース) を取り込みます")
    fhir.add_argument("paths", type=Path, nargs="+", help="JSON ファイル、または JSON ファイルのあるフォルダ")
    fhir.add_argument("--rejects", type=Path, help="取り込めなかったリソースを書き出す CSV ファイル")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    def show_progress(progress: Progress) -> None:
        share = f"{progress.processed * 100 // progress.total}%" if progress.total else "-"
        err.write(f"\r{KIND_LABELS[progress.kind]}: {progress.processed:,} / {progress.total:,} 行 ({share})"
                  f" 不正 {progress.rejected:,} 行")
        err.flush()

    try:
        if args.kind == "qualification":
            report = import_qualifications(args.file, args.encoding, show_progress)
        elif args.kind == "claims":
            report = import_claims(args.file, args.encoding, show_progress)
        else:
            report = import_fhir_files(_json_files(args.paths))
    except (CsvFormatError, FileNotFoundError, IsADirectoryError) as exc:
        err.write(f"\n取り込みを中止しました: {_file_error(exc)}\n")
        return EXIT_FAILED

    err.write("\n")
    _print_report(report, out)
    if args.rejects is not None:
        _write_rejects(report, args.rejects)
        out.write(f"取り込めなかった行の一覧を {args.rejects} に書き出しました。\n")

    return EXIT_PARTIAL if report.rejected else EXIT_OK


def _json_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(str(path))

    return files


def _file_error(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"ファイルが見つかりません: {exc.filename or exc}"

    if isinstance(exc, IsADirectoryError):
        return f"フォルダではなくファイルを指定してください: {exc.filename}"

    return str(exc)


def _print_report(report: ImportReport, out: TextIO) -> None:
    label = KIND_LABELS[report.kind]
    out.write(
        f"{label}の取り込みが終わりました: {report.rows:,} 件中 新規 {report.inserted:,} 件、更新 {report.updated:,} 件、"
        f"変更なし {report.unchanged:,} 件、対象外 {report.skipped:,} 件、不正 {len(report.rejected):,} 件\n"
    )
    for rejected in report.rejected[:SHOWN_REJECTS]:
        out.write(f"  {rejected.source} {_location_label(rejected.location)}: {rejected.reason}\n")

    hidden = len(report.rejected) - SHOWN_REJECTS
    if hidden > 0:
        out.write(f"  ほか {hidden:,} 件 (--rejects でファイルに書き出せます)\n")


def _location_label(location: str) -> str:
    return f"{location} 行目" if location.isdigit() else location


def _write_rejects(report: ImportReport, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "location", "reason"])
        for rejected in report.rejected:
            writer.writerow([rejected.source, rejected.location, rejected.reason])
