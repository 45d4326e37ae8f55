"""The handover PDF (引継書): one A4 page in Japanese made from a transfer packet.

Pure rendering with reportlab: no Flask, no database, no network, so the field
unit can print it offline and the hospital portal can print the same page. Long
lists are cut to a few rows plus a "他 N 件" (N more) line, and the limits shrink
until the page fits on one sheet.

Japanese text uses the IPAex Gothic TrueType font embedded in the PDF, from the
Debian package ``fonts-ipaexfont-gothic``.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hub.contract import Summary, TransferPacket, TransferView, Vitals

FONT_PATH = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
FONT_NAME = "IPAexGothic"
FONT_PACKAGE = "fonts-ipaexfont-gothic"

JST = timezone(timedelta(hours=9), "JST")

SEX_LABELS = {"1": "男", "2": "女", "male": "男", "female": "女"}
CONSENT_LABELS = {"pin": "本人同意 (暗証番号)", "verbal": "本人同意 (口頭)", "emergency": "同意困難 (生命・身体の保護)"}
STATUS_LABELS = {
    "sent": "送信済",
    "delivered": "受信",
    "viewed": "閲覧済",
    "accepted": "受入可",
    "declined": "受入不可",
    "arrived": "到着",
    "handed_over": "引継完了",
}

# Row limits per list, from generous to tight. Rendering moves to the next set
# until the page fits on one sheet.
_ROW_LIMIT_STEPS = (
    {"rows": 12, "vitals": 8, "notes_chars": 600},
    {"rows": 8, "vitals": 6, "notes_chars": 400},
    {"rows": 5, "vitals": 4, "notes_chars": 240},
    {"rows": 3, "vitals": 3, "notes_chars": 120},
    {"rows": 1, "vitals": 2, "notes_chars": 60},
)


class HandoverFontMissingError(RuntimeError):
    """The Japanese font file is not installed, so the PDF cannot be rendered."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Japanese font not found at {path}: install the Debian package {FONT_PACKAGE} "
            f"(apt-get install {FONT_PACKAGE})"
        )
        self.path = path


def render_handover_pdf(packet: TransferPacket, view: TransferView | None = None) -> bytes:
    """Render the handover sheet for one packet as PDF bytes (one A4 page).

    :param packet: the transfer packet the crew sent
    :param view: the packet as one hospital sees it, adding the hospital's name
        and the answer status; optional because the field unit prints before any answer
    :return: the PDF file's bytes
    :raises HandoverFontMissingError: when the IPAex Gothic font is not installed
    """
    _register_font()

    for limits in _ROW_LIMIT_STEPS:
        pdf, pages = _render_with_limits(packet, view, limits)
        if pages == 1:
            return pdf

    # The tightest limits still overflowed, which only huge free-text fields can
    # cause, so cut them as well.
    # NOTE: a patient address of several thousand characters could still spill
    # onto a second page, because the summary's fields are not cut here.
    return _render_with_limits(_shortened_packet(packet), view, _ROW_LIMIT_STEPS[-1])[0]


def _register_font() -> None:
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return

    if not FONT_PATH.is_file():
        raise HandoverFontMissingError(FONT_PATH)

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH)))


@dataclass
class _Styles:
    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    alert: ParagraphStyle


def _styles() -> _Styles:
    body = ParagraphStyle("body", fontName=FONT_NAME, fontSize=8.5, leading=11, wordWrap="CJK")
    return _Styles(
        title=ParagraphStyle("title", parent=body, fontSize=15, leading=19),
        heading=ParagraphStyle(
            "heading", parent=body, fontSize=9.5, leading=13, textColor=colors.white, backColor=colors.HexColor("#0d47a1"),
            borderPadding=(1, 3, 1, 3), spaceBefore=4, spaceAfter=2,
        ),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7, leading=9, textColor=colors.HexColor("#444444")),
        alert=ParagraphStyle(
            "alert", parent=body, fontSize=9, leading=12, backColor=colors.HexColor("#ffe0b2"),
            borderPadding=(2, 3, 2, 3), spaceAfter=3,
        ),
    )


def _render_with_limits(packet: TransferPacket, view: TransferView | None, limits: dict[str, int]) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=10 * mm, bottomMargin=10 * mm,
        title="救急搬送 引継書", author=packet.unit_name, subject=f"事案 {packet.incident_id}",
    )
    story = _story(packet, view, limits, _styles())

    pages = 0

    def count_page(_canvas: Any, _document: Any) -> None:
        nonlocal pages
        pages += 1

    document.build(story, onFirstPage=count_page, onLaterPages=count_page)
    return buffer.getvalue(), pages


def _story(packet: TransferPacket, view: TransferView | None, limits: dict[str, int], styles: _Styles) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("救急搬送 引継書", styles.title)]
    story += _header_section(packet, view, styles)
    story.append(Paragraph(f"主訴: {_text(packet.chief_complaint)}", styles.alert))

    summary = packet.summary
    if summary is None:
        story.append(Paragraph("傷病者情報なし (マイナ救急による情報取得なし)", styles.body))
    else:
        story += _patient_section(summary, packet, styles)
        story += _risk_section(summary, limits["rows"], styles)
        story += _medication_section(summary, limits["rows"], styles)
        story += _history_section(summary, limits["rows"], styles)
        story += _insurance_section(summary, styles)

    story += _vitals_section(packet.vitals, limits["vitals"], styles)
    story += _notes_section(packet.notes, limits["notes_chars"], styles)
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(
        f"作成 {_local_time(datetime.now(timezone.utc).isoformat())} ・ 要配慮個人情報を含みます。取扱いに注意してください。",
        styles.small,
    ))
    return story


def _header_section(packet: TransferPacket, view: TransferView | None, styles: _Styles) -> list[Flowable]:
    eta = f"約 {packet.eta_minutes} 分" if packet.eta_minutes is not None else "未定"
    rows = [
        ["救急隊", packet.unit_name, "送信時刻", _local_time(packet.sent_at)],
        ["到着予定", eta, "事案番号", packet.incident_id],
    ]
    if view is not None:
        status = STATUS_LABELS.get(view.status, view.status)
        rows.append(["搬送先", view.hospital_name or view.hospital_code, "状態", status])

    return [_key_value_table(rows, styles)]


def _patient_section(summary: Summary, packet: TransferPacket, styles: _Styles) -> list[Flowable]:
    patient = summary.patient
    age = _age_on(patient.birth_date, packet.sent_at)
    age_text = f" ({age} 歳)" if age is not None else ""
    rows = [
        ["氏名", f"{patient.family_name} {patient.given_name}", "カナ", f"{patient.family_kana} {patient.given_kana}"],
        ["生年月日", f"{patient.birth_date}{age_text}", "性別", SEX_LABELS.get(patient.sex, patient.sex)],
        ["住所", patient.address, "同意", CONSENT_LABELS.get(summary.consent_mode, summary.consent_mode)],
    ]
    return [Paragraph("傷病者", styles.heading), _key_value_table(rows, styles)]


def _risk_section(summary: Summary, limit: int, styles: _Styles) -> list[Flowable]:
    """List allergies and high-risk medications first, because they change the first treatment."""
    allergies = [_named_item(item.name, item.detail) for item in summary.allergies]
    high_risk = [f"{item.high_risk}: {item.drug_name}" for item in summary.medications if item.high_risk]

    lines = [f"アレルギー: {'、'.join(_truncate(allergies, limit)) if allergies else 'なし'}"]
    lines.append(f"ハイリスク薬: {'、'.join(_truncate(high_risk, limit)) if high_risk else 'なし'}")
    if summary.dialysis:
        lines.append("人工透析: あり")

    flowables: list[Flowable] = [Paragraph("注意事項", styles.heading)]
    flowables += [Paragraph(_text(line), styles.alert) for line in lines]
    return flowables


def _medication_section(summary: Summary, limit: int, styles: _Styles) -> list[Flowable]:
    if not summary.medications:
        return [Paragraph("服薬情報", styles.heading), Paragraph("なし", styles.body)]

    # High-risk drugs sort first so a cut list still shows them.
    medications = sorted(summary.medications, key=lambda item: item.high_risk is None)
    rows = [
        [
            f"★{item.drug_name}" if item.high_risk else item.drug_name,
            item.dose, f"{item.days} 日", item.dispensed_on, item.hospital_name,
        ]
        for item in medications[:limit]
    ]
    table = _grid_table(["薬剤名", "用法・用量", "日数", "調剤日", "医療機関・薬局"], rows, [62, 42, 14, 22, 46], styles)
    return [Paragraph("服薬情報 (★ ハイリスク薬)", styles.heading), table] + _more_line(len(medications), limit, styles)


def _history_section(summary: Summary, limit: int, styles: _Styles) -> list[Flowable]:
    visits = [f"{item.visited_on} {item.hospital_name} ({item.department})" for item in summary.visits]
    conditions = [_named_item(item.name, item.date) for item in summary.conditions]
    surgeries = [_named_item(item.name, item.date) for item in summary.surgeries]
    checkup = summary.last_checkup_on or "記録なし"

    lines = [
        ("受診歴", visits),
        ("既往・病名", conditions),
        ("手術歴", surgeries),
    ]
    flowables: list[Flowable] = [Paragraph("診療情報", styles.heading)]
    for label, items in lines:
        text = "、".join(_truncate(items, limit)) if items else "なし"
        flowables.append(Paragraph(f"<b>{label}</b>: {_text(text)}", styles.body))

    dialysis = "あり" if summary.dialysis else "なし"
    flowables.append(Paragraph(f"<b>人工透析</b>: {dialysis} ・ <b>最終健診</b>: {_text(checkup)}", styles.body))
    return flowables


def _insurance_section(summary: Summary, styles: _Styles) -> list[Flowable]:
    insurance = summary.insurance
    if insurance is None:
        return [Paragraph("<b>保険</b>: 資格情報なし", styles.body)]

    valid = f"{insurance.valid_from} 〜 {insurance.valid_to or ''}"
    text = (
        f"<b>保険</b>: {_text(insurance.insurer_name)} (保険者番号 {_text(insurance.insurer_number)}) "
        f"記号 {_text(insurance.symbol)} 番号 {_text(insurance.number)} 枝番 {_text(insurance.branch)} ・ "
        f"{_text(insurance.relationship)} ・ 負担 {insurance.copay_ratio} 割 ・ 有効 {_text(valid)}"
    )
    if insurance.limit_category:
        text += f" ・ 限度額区分 {_text(insurance.limit_category)}"

    return [Paragraph(text, styles.body)]


def _vitals_section(vitals: list[Vitals], limit: int, styles: _Styles) -> list[Flowable]:
    heading = Paragraph("バイタルサイン", styles.heading)
    if not vitals:
        return [heading, Paragraph("記録なし", styles.body)]

    # The newest measurements matter most, so a cut table keeps the latest rows.
    ordered = sorted(vitals, key=lambda item: item.measured_at)
    shown = ordered[-limit:]
    rows = [
        [
            _local_time(item.measured_at)[-5:], item.jcs or "-", _blood_pressure(item), _number(item.heart_rate),
            _number(item.respiratory_rate), _number(item.spo2), _number(item.body_temperature),
        ]
        for item in shown
    ]
    table = _grid_table(["時刻", "JCS", "血圧", "脈拍", "呼吸数", "SpO2 (%)", "体温 (℃)"], rows, [22, 22, 30, 22, 22, 26, 26], styles)
    flowables: list[Flowable] = [heading, table]
    if len(ordered) > limit:
        flowables.append(Paragraph(f"他 {len(ordered) - limit} 件 (古い測定値を省略)", styles.small))

    return flowables


def _notes_section(notes: str, max_chars: int, styles: _Styles) -> list[Flowable]:
    text = notes.strip() or "なし"
    if len(text) > max_chars:
        text = text[:max_chars] + f" … (他 {len(text) - max_chars} 文字)"

    return [Paragraph("救急隊メモ", styles.heading), Paragraph(_text(text).replace("\n", "<br/>"), styles.body)]


def _key_value_table(rows: list[list[str]], styles: _Styles) -> Table:
    cells = [[Paragraph(_text(cell), styles.body) for cell in row] for row in rows]
    table = Table(cells, colWidths=[18 * mm, 75 * mm, 18 * mm, 75 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#e3f2fd")),
        ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#e3f2fd")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def _grid_table(header: list[str], rows: list[list[str]], widths_mm: list[int], styles: _Styles) -> Table:
    cells = [[Paragraph(_text(cell), styles.body) for cell in row] for row in [header, *rows]]
    table = Table(cells, colWidths=[width * mm for width in widths_mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3f2fd")),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def _more_line(total: int, limit: int, styles: _Styles) -> list[Flowable]:
    if total <= limit:
        return []

    return [Paragraph(f"他 {total - limit} 件", styles.small)]


def _truncate(items: list[str], limit: int) -> list[str]:
    if len(items) <= limit:
        return items

    return items[:limit] + [f"他 {len(items) - limit} 件"]


def _named_item(name: str, extra: str | None) -> str:
    return f"{name} ({extra})" if extra else name


def _blood_pressure(vitals: Vitals) -> str:
    if vitals.systolic_bp is None:
        return "-"

    if vitals.diastolic_bp is None:
        return str(vitals.systolic_bp)

    return f"{vitals.systolic_bp}/{vitals.diastolic_bp}"


def _number(value: float | None) -> str:
    return "-" if value is None else str(value)


def _local_time(iso_time: str) -> str:
    """Format an ISO 8601 time in Japan time (JST) as ``YYYY-MM-DD HH:MM``, or return it unchanged if unparsable."""
    try:
        moment = datetime.fromisoformat(iso_time)
    except ValueError:
        return iso_time

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)

    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _age_on(birth_date: str, iso_time: str) -> int | None:
    try:
        born = date.fromisoformat(birth_date)
        today = datetime.fromisoformat(iso_time).astimezone(JST).date()
    except ValueError:
        return None

    had_birthday = (today.month, today.day) >= (born.month, born.day)
    return today.year - born.year - (0 if had_birthday else 1)


def _text(value: str) -> str:
    """Escape free text for reportlab's Paragraph mini-markup."""
    return escape(value)


def _shortened_packet(packet: TransferPacket) -> TransferPacket:
    return dataclasses.replace(
        packet,
        chief_complaint=packet.chief_complaint[:200],
        unit_name=packet.unit_name[:60],
        incident_id=packet.incident_id[:60],
    )
