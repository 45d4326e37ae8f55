"""The handover PDF: one A4 page, the embedded Japanese font, the key content."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from hub.contract import TransferOutcome, TransferView
from hub.documents import handover_pdf
from hub.documents.handover_pdf import HandoverFontMissingError, render_handover_pdf
from tests.hospital_portal.packets import sample_packet, sample_summary


def read_pdf(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_text(pdf: bytes) -> str:
    return read_pdf(pdf).pages[0].extract_text()


def font_names(pdf: bytes) -> set[str]:
    fonts = read_pdf(pdf).pages[0]["/Resources"]["/Font"]
    return {str(font.get_object()["/BaseFont"]) for font in fonts.values()}


def embedded_font_files(pdf: bytes) -> int:
    reader = read_pdf(pdf)
    count = 0
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descendants = font.get("/DescendantFonts")
        descriptor = descendants[0].get_object()["/FontDescriptor"] if descendants else font.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            count += 1

    return count


def test_pdf_is_one_a4_page() -> None:
    pdf = render_handover_pdf(sample_packet())
    reader = read_pdf(pdf)

    assert pdf.startswith(b"%PDF-")
    assert len(reader.pages) == 1
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)


def test_pdf_embeds_ipaex_font() -> None:
    pdf = render_handover_pdf(sample_packet())

    assert any("IPAexGothic" in name for name in font_names(pdf))
    assert embedded_font_files(pdf) >= 1


def test_pdf_key_japanese_strings() -> None:
    text = page_text(render_handover_pdf(sample_packet()))

    for expected in ("救急搬送 引継書", "港救急1", "意識障害", "救急 花子", "キュウキュウ ハナコ", "1940-04-01", "女",
                     "ペニシリン系抗菌薬", "抗凝固薬", "ワルファリンK錠1mg", "港クリニック0", "大腿骨頸部骨折手術",
                     "人工透析", "東京都後期高齢者医療広域連合", "II-10", "自宅で転倒"):
        assert expected in text, f"{expected!r} missing from the PDF text"


def test_pdf_age_from_birth_date() -> None:
    text = page_text(render_handover_pdf(sample_packet()))

    assert " 歳)" in text
    assert "(8" in text  # born 1940, so in the eighties


def test_pdf_high_risk_before_medications() -> None:
    text = page_text(render_handover_pdf(sample_packet()))

    assert text.index("注意事項") < text.index("服薬情報")
    assert text.index("アレルギー") < text.index("テスト錠0mg")


def test_pdf_long_lists_fit_one_page() -> None:
    packet = sample_packet(summary=sample_summary(medication_count=80, visit_count=60), vitals_count=40, notes="長文メモ。" * 400)
    pdf = render_handover_pdf(packet)

    assert len(read_pdf(pdf).pages) == 1
    assert "他 " in page_text(pdf)
    assert " 件" in page_text(pdf)


def test_pdf_long_list_keeps_high_risk() -> None:
    packet = sample_packet(summary=sample_summary(medication_count=80))
    text = page_text(render_handover_pdf(packet))

    assert "ワルファリンK錠1mg" in text


def test_pdf_huge_complaint_fits_one_page() -> None:
    packet = sample_packet(chief_complaint="胸痛" * 3000)

    assert len(read_pdf(render_handover_pdf(packet)).pages) == 1


def test_pdf_without_summary() -> None:
    packet = sample_packet(summary=None)
    packet.summary = None
    text = page_text(render_handover_pdf(packet))

    assert "傷病者情報なし" in text
    assert "救急 花子" not in text


def test_pdf_with_view_shows_hospital() -> None:
    packet = sample_packet()
    view = TransferView(
        transfer_id="t-1", hospital_code="1311111111", status="accepted", updated_at=packet.sent_at, packet=packet,
        hospital_name="港中央病院", outcome=TransferOutcome(diagnosis="脳梗塞", severity="severe", recorded_at=packet.sent_at),
    )
    text = page_text(render_handover_pdf(packet, view))

    assert "港中央病院" in text
    assert "受入可" in text


def test_pdf_escapes_markup_in_notes() -> None:
    text = page_text(render_handover_pdf(sample_packet(notes="<b>太字</b> & 記号")))

    assert "<b>太字</b> & 記号" in text


def test_pdf_missing_font_names_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(handover_pdf, "FONT_PATH", tmp_path / "missing.ttf")
    monkeypatch.setattr(handover_pdf, "FONT_NAME", "IPAexGothicMissingTest")

    with pytest.raises(HandoverFontMissingError, match="fonts-ipaexfont-gothic"):
        render_handover_pdf(sample_packet())
