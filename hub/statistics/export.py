"""Report files: CSV for Japanese Excel (UTF-8 with BOM) and .xlsx.

Both files carry the same tables under Japanese titles and headers. Text cells
that start with ``=``, ``+``, ``-`` or ``@`` get a leading apostrophe, because
Excel would otherwise run them as formulas (CSV injection) and station or unit
names come from devices and imported files.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook

from hub.statistics import compute
from hub.statistics.records import FRAME_COLUMNS

BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

INTERVAL_COLUMNS = {"n": "集計件数", "missing": "欠測", "invalid": "不整合(順序逆転)", "mean_min": "平均(分)"}
COUNT_COLUMNS = {"count": "件数", "share_pct": "割合(%)"}
FUNNEL_COLUMNS = {"count": "件数", "share_of_attempted_pct": "試行に対する割合(%)"}
CARD_COLUMNS = {"incidents": "件数", "n": "集計件数", "excluded": "除外(欠測・不整合)", "mean_min": "現場滞在時間 平均(分)"}

RECORD_HEADERS = {
    "incident_id": "事案ID",
    "source": "取得元",
    "station": "署所",
    "unit": "救急隊",
    "age_band": "年齢区分",
    "sex": "性別",
    "jcs": "JCS",
    "severity": "傷病程度",
    "myna_consent_mode": "同意の方法",
    "myna_stop_reason": "中止理由",
    "reported_at": "報告日時",
    "call_received": "入電",
    "arrived_scene": "現場到着",
    "departed_scene": "現場出発",
    "handover": "医師引継ぎ",
    "inquiry_count": "照会回数",
    "myna_attempted": "マイナ救急 試行",
    "myna_card_present": "カードあり",
    "myna_card_read": "カード読取",
    "myna_linked": "紐付け",
    "myna_viewed": "閲覧",
}


def report_tables(report: compute.Report) -> list[tuple[str, str, pd.DataFrame]]:
    """Return (sheet name, title, table) for every table, with Japanese headers."""
    tables = [
        ("所要時間", "FDMA 所要時間(入電→現場到着、入電→医師引継ぎ、現場到着→現場出発)", _labeled(report.intervals, INTERVAL_COLUMNS, "区分")),
        ("現場到着分布", "現場到着所要時間の分布", _labeled(report.response_distribution, COUNT_COLUMNS, "区分")),
        ("照会回数", "照会回数の分布", _labeled(report.inquiry_distribution, COUNT_COLUMNS, "照会回数")),
        ("現場滞在分布", "現場滞在時間の分布", _labeled(report.scene_distribution, COUNT_COLUMNS, "現場滞在時間")),
        ("困難事案", "救急搬送困難事案(照会4回以上かつ現場滞在30分以上)", _labeled(report.difficult, COUNT_COLUMNS, "区分")),
        ("マイナ救急", "マイナ救急の実施状況", _labeled(report.myna_funnel, FUNNEL_COLUMNS, "段階")),
        ("同意の方法", "閲覧時の同意の方法", _labeled(report.myna_consent_modes, COUNT_COLUMNS, "同意の方法")),
        ("中止理由", "閲覧に至らなかった理由", _labeled(report.myna_stop_reasons, COUNT_COLUMNS, "理由")),
        ("カード別現場滞在", "マイナ救急の有無別 現場滞在時間", _labeled(report.scene_by_card, CARD_COLUMNS, "区分")),
    ]
    for dimension, label in compute.DIMENSIONS.items():
        table = _labeled(report.breakdowns[dimension], compute.BREAKDOWN_COLUMNS, label)
        tables.append((f"{label}別", f"{label}別の内訳", table))

    return tables


def report_heading(report: compute.Report) -> list[list[str]]:
    """Return the lines that head every file: department, period, creation time, total."""
    return [
        ["救急活動統計"],
        ["消防本部コード", report.department_code],
        ["期間", _period_text(report)],
        ["作成日時(UTC)", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")],
        ["事案数", str(report.incidents)],
        ["注記", "欠測の時刻は平均から除き、欠測件数として数えています(0分とはしていません)。"],
    ]


def report_csv(report: compute.Report) -> bytes:
    """Return the whole report as one CSV with a titled section per table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(report_heading(report))
    for _sheet, title, table in report_tables(report):
        writer.writerow([])
        writer.writerow([title])
        writer.writerow([table.index.name, *table.columns])
        for label, *values in table.itertuples(name=None):
            writer.writerow([_csv_cell(label), *(_csv_cell(value) for value in values)])

    return (BOM + buffer.getvalue()).encode("utf-8")


def records_csv(frame: pd.DataFrame) -> bytes:
    """Return the de-identified incident records, one row per incident."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([RECORD_HEADERS[column] for column in FRAME_COLUMNS])
    for row in frame[list(FRAME_COLUMNS)].itertuples(index=False):
        writer.writerow([_csv_cell(value) for value in row])

    return (BOM + buffer.getvalue()).encode("utf-8")


def report_xlsx(report: compute.Report) -> bytes:
    """Return the report as an .xlsx workbook: a heading sheet, then one sheet per table."""
    workbook = Workbook()
    heading = workbook.active
    heading.title = "概要"
    for line in report_heading(report):
        heading.append(line)

    for sheet_name, title, table in report_tables(report):
        sheet = workbook.create_sheet(sheet_name[:31])
        sheet.append([title])
        sheet.append([table.index.name, *table.columns])
        for label, *values in table.itertuples(name=None):
            sheet.append([_xlsx_cell(label), *(_xlsx_cell(value) for value in values)])

        sheet.column_dimensions["A"].width = 24

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _labeled(table: pd.DataFrame, headers: dict[str, str], index_label: str) -> pd.DataFrame:
    labeled = table[list(headers)].rename(columns=headers).copy()
    for column in labeled.columns:
        if pd.api.types.is_float_dtype(labeled[column]):
            labeled[column] = labeled[column].round(2)

    labeled.index.name = index_label
    return labeled


def _period_text(report: compute.Report) -> str:
    start = report.period_start.isoformat() if report.period_start else "最初"
    end = report.period_end.isoformat() if report.period_end else "最後"
    return f"{start} ～ {end}"


def _csv_cell(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("Asia/Tokyo").strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"

    return _defuse(str(value)) if isinstance(value, str) else str(value)


def _xlsx_cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)

    return _defuse(str(value)) if isinstance(value, str) else value


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
