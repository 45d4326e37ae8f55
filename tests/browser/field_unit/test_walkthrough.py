"""One whole incident in headless Chromium, with coverage lost and restored in the middle.

Steps share one browser page and run in order; each keeps a screenshot.
"""

from __future__ import annotations

import re
from pathlib import Path

from mynacard.credentials import printed_birth_date
from mynacard.persona import CardPersona
from tests.browser.field_unit.conftest import shot


def test_incident_walkthrough(field_stack, page) -> None:
    url = field_stack.field_url
    hospital = field_stack.hub.description["demo_hospital"]

    # Sign in for the shift.
    page.goto(url + "/")
    page.fill("input[name=unit_name]", "中央救急1")
    page.fill("input[name=leader_name]", "佐藤")
    page.fill("input[name=code]", "2468")
    shot(page, "01-signin")
    page.click("text=勤務を開始")

    # Open the incident (入電 is stamped) and tap three more times.
    page.click("#new-incident")
    for key in ("dispatched", "arrived_scene", "patient_contact"):
        page.click(f"button[data-key={key}]")
    page.wait_for_selector("#conn.online")
    shot(page, "02-incident")
    assert page.locator("a[data-key=patient_contact]").count() == 1

    # Card step: live reader state, read, wrong PIN shows the tries left.
    page.click("#tile-card")
    page.wait_for_selector("#reader-state.success")
    shot(page, "03-card-reader")

    # Optional card-face check with 照合番号B typed from the card face: genuine, with the photo.
    holder = CardPersona.load(Path(field_stack.card["card_dir"]) / "persona.json")
    assert holder.card_expiry is not None and holder.security_code is not None
    page.click("#card-face-link")
    page.fill("#number-b-birth", printed_birth_date(holder.birth_date))
    page.fill("#number-b-expiry", str(holder.card_expiry.year))
    page.fill("#number-b-code", holder.security_code)
    page.click("#number-b-submit")
    page.wait_for_selector("#card-face-outcome[data-outcome=genuine]")
    assert holder.family_name in page.inner_text("#card-face-name")
    assert page.eval_on_selector("#card-face-photo", "img => img.complete && img.naturalWidth") == 240
    shot(page, "03b-card-face")

    page.click("#card-face-next")
    page.click("#consent-pin")
    for digit in "0000":
        page.click(f"button.pad[data-digit='{digit}']")
    page.click("#pin-submit")
    page.wait_for_selector("#error")
    assert "あと2回" in page.inner_text("#error")
    assert "残り 2 回" in page.inner_text("#tries")
    shot(page, "04-wrong-pin")

    # A second wrong PIN leaves one try: the pad asks for confirmation before the last try.
    for digit in "0000":
        page.click(f"button.pad[data-digit='{digit}']")
    page.click("#pin-submit")
    page.wait_for_selector("#confirm-last-try")
    assert "残り回数は1回" in page.inner_text("#last-try-title")
    shot(page, "04b-last-try-confirmation")

    # Coverage lost: the hub stops and the status bar shows 圏外.
    field_stack.hub.stop()
    page.goto(page.url.replace("/consent/pin", "/consent"))
    page.wait_for_selector("#conn.offline", timeout=15_000)

    # Verbal consent while offline is queued, not lost.
    page.click("#consent-verbal")
    page.wait_for_selector("#summary-pending")
    shot(page, "05-summary-queued-offline")

    # Vitals with a validation error, then two measurements for the trend.
    incident_url = page.url.replace("/summary", "")
    page.goto(incident_url + "/vitals")
    page.fill("input[name=spo2]", "120")
    page.click("#save-vitals")
    assert "SpO2は0〜100%" in page.inner_text("#errors")
    page.fill("input[name=spo2]", "93")
    page.fill("input[name=jcs]", "10")
    page.fill("input[name=heart_rate]", "96")
    page.click("#save-vitals")
    page.fill("input[name=heart_rate]", "112")
    page.fill("input[name=spo2]", "91")
    page.click("#save-vitals")
    assert "112↑" in page.inner_text("#trend")
    shot(page, "06-vitals-trend")

    # Hospital choice from the cached list, packet queued while offline.
    page.goto(incident_url + "/hospitals")
    page.check(f"input[name=hospital_code][value='{hospital['code']}']")
    page.fill("input[name=eta_minutes]", "10")
    page.click("#send-transfer")
    assert "送信待ち" in page.inner_text("#packets")
    page.wait_for_function("document.getElementById('queue').textContent.includes('2 件')")
    shot(page, "07-transfer-queued-offline")

    # Coverage back: the queue drains, the summary arrives and an alert appears.
    field_stack.hub.start()
    page.wait_for_selector("#conn.online", timeout=20_000)
    page.wait_for_function("document.getElementById('queue').textContent.includes('0 件')", timeout=20_000)
    page.wait_for_selector("#alerts >> text=救急用サマリーを取得しました", timeout=20_000)
    shot(page, "08-back-online")

    page.goto(incident_url + "/summary")
    assert "注意が必要な情報" in page.inner_text("#high-risk")
    assert page.inner_text("#medications").count("出典") >= 1
    shot(page, "09-summary")

    page.goto(incident_url + "/hospitals")
    assert "送信済み" in page.inner_text("#packets")
    page.select_option("#inquiry-hospital", hospital["code"])
    page.click("#inquiry-accepted")
    assert "受入可" in page.inner_text("#inquiries")
    shot(page, "10-hospitals-sent")

    # Departure, arrival and handover close the incident.
    page.goto(incident_url)
    for key in ("departed_scene", "arrived_hospital", "handover"):
        page.click(f"button[data-key={key}]")
    assert re.search(r"医師引継ぎ\s*\d\d:\d\d", page.inner_text("#timeline"))
    shot(page, "11-handover")
