"""The ER workflow in headless Chromium: receive a packet live, answer it, hand the patient over."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hospital_portal import totp
from hub.client import HubClient
from hub.contract import TransferView
from tests.browser.hospital_portal.conftest import PASSWORD, PortalUnderTest
from tests.hospital_portal.packets import sample_packet
from tests.hospital_portal.servers import HOSPITAL_CODE, OTHER_HOSPITAL_CODE

WAIT_MILLISECONDS = 15_000


def sign_in(page, stack: PortalUnderTest, screenshots: Path, role: str = "doctor", shot_prefix: str = "") -> None:
    login_id, secret = stack.add_staff(role, emergency_view=role != "clerk")
    page.goto(f"{stack.url}/login")
    page.fill("#login_id", login_id)
    page.fill("#password", PASSWORD)
    if shot_prefix:
        page.screenshot(path=str(screenshots / f"{shot_prefix}login.png"))

    page.click("button[type=submit]")
    if secret:
        page.wait_for_selector("#code")
        page.fill("#code", totp.totp(totp.decode_secret(secret), time.time()))
        if shot_prefix:
            page.screenshot(path=str(screenshots / f"{shot_prefix}totp.png"))

        page.click("button[type=submit]")

    page.wait_for_selector("#inbox", state="attached")


def crew_view(stack: PortalUnderTest, transfer_id: str) -> TransferView:
    return next(view for view in stack.hub.device().sent_transfers() if view.transfer_id == transfer_id)


def wait_for_card(page, transfer_id: str):
    return page.wait_for_selector(f'[data-transfer-id="{transfer_id}"]', timeout=WAIT_MILLISECONDS)


def test_receive_accept_handover(page, stack: PortalUnderTest, screenshots: Path) -> None:
    sign_in(page, stack, screenshots, shot_prefix="01-")
    page.wait_for_function("document.getElementById('updated').textContent.startsWith('最終更新')", timeout=WAIT_MILLISECONDS)
    alerts_before = page.evaluate("window.portalAlerts")

    started = time.monotonic()
    sent = stack.hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE], chief_complaint="転倒後の左股関節痛"))[0]
    card = wait_for_card(page, sent.transfer_id)
    (screenshots / "latency.txt").write_text(f"send to card on screen: {time.monotonic() - started:.2f} s\n")
    page.wait_for_function(f"window.portalAlerts > {alerts_before}", timeout=WAIT_MILLISECONDS)
    page.wait_for_function("document.querySelector('.eta').textContent.includes('到着まで')", timeout=WAIT_MILLISECONDS)
    page.screenshot(path=str(screenshots / "02-inbox-new-packet.png"))

    assert "転倒後の左股関節痛" in card.inner_text()
    assert "新着" in card.inner_text()
    assert "整形外科" in card.inner_text()

    page.select_option("#filter-department", "cardiology")
    assert page.query_selector(f'[data-transfer-id="{sent.transfer_id}"]') is None

    page.select_option("#filter-department", "orthopedics")
    wait_for_card(page, sent.transfer_id)
    page.select_option("#filter-department", "")

    wait_for_card(page, sent.transfer_id).click()
    page.wait_for_selector("#summary")
    page.screenshot(path=str(screenshots / "03-packet-view.png"), full_page=True)

    assert "救急 花子" in page.inner_text("#summary")
    assert crew_view(stack, sent.transfer_id).status == "viewed"

    page.click("#accept")
    page.wait_for_selector("#arrived")
    assert crew_view(stack, sent.transfer_id).status == "accepted"

    page.select_option("#department", "orthopedics")
    page.fill("#team", "整形外科当直")
    page.fill("#note-text", "レントゲン室を確保")
    page.click("#save-note")
    page.wait_for_selector("#notes >> text=整形外科当直")
    page.screenshot(path=str(screenshots / "04-accepted-prepared.png"), full_page=True)

    page.click("#arrived")
    page.wait_for_selector("#handed-over")
    assert crew_view(stack, sent.transfer_id).status == "arrived"

    page.click("#handed-over")
    page.wait_for_selector("text=医師への引継ぎが完了しています")
    assert crew_view(stack, sent.transfer_id).status == "handed_over"

    page.fill("#diagnosis", "左大腿骨頸部骨折")
    page.select_option("#severity", "severe")
    page.click("#save-outcome")
    page.wait_for_selector("#outcome-recorded")
    page.screenshot(path=str(screenshots / "05-handed-over-outcome.png"), full_page=True)

    crew = crew_view(stack, sent.transfer_id)
    assert crew.outcome is not None
    assert crew.outcome.severity == "severe"


def test_decline_with_reason(page, stack: PortalUnderTest, screenshots: Path) -> None:
    sign_in(page, stack, screenshots, role="nurse")
    sent = stack.hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE], chief_complaint="胸痛"))[0]
    wait_for_card(page, sent.transfer_id).click()
    page.wait_for_selector("#decline")

    page.select_option("#reason", "busy")
    page.screenshot(path=str(screenshots / "06-decline-reason.png"), full_page=True)
    page.click("#decline")
    page.wait_for_selector("text=受入れ不可と回答済みです")

    crew = crew_view(stack, sent.transfer_id)
    assert crew.status == "declined"
    assert crew.status_reason == "busy"


def test_clerk_sees_no_patient(page, stack: PortalUnderTest, screenshots: Path) -> None:
    sign_in(page, stack, screenshots, role="clerk")
    sent = stack.hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE]))[0]
    wait_for_card(page, sent.transfer_id).click()
    page.wait_for_selector("#summary")
    page.screenshot(path=str(screenshots / "07-clerk-packet-view.png"), full_page=True)

    assert "救急時閲覧権限がないため" in page.inner_text("#summary")
    assert page.query_selector("#accept") is None


def test_withdrawn_packet_is_grey_and_silent(page, stack: PortalUnderTest, screenshots: Path) -> None:
    sign_in(page, stack, screenshots, role="nurse")
    page.wait_for_function("document.getElementById('updated').textContent.startsWith('最終更新')", timeout=WAIT_MILLISECONDS)
    alerts_before = page.evaluate("window.portalAlerts")

    # Hold the screen's polls while the packet is sent and withdrawn, so it first appears already withdrawn.
    page.route("**/inbox/feed", lambda route: route.abort())
    views = stack.hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE, OTHER_HOSPITAL_CODE], chief_complaint="腹痛"))
    mine = next(view for view in views if view.hospital_code == HOSPITAL_CODE)
    theirs = next(view for view in views if view.hospital_code == OTHER_HOSPITAL_CODE)
    HubClient(stack.hub.url, stack.hub.other_hospital_token).update_transfer_status(theirs.transfer_id, "accepted")
    page.unroute("**/inbox/feed")

    card = wait_for_card(page, mine.transfer_id)
    page.screenshot(path=str(screenshots / "08-withdrawn.png"), full_page=True)

    assert "withdrawn" in card.get_attribute("class")
    assert page.evaluate("window.portalAlerts") == alerts_before
    assert not page.is_visible("#banner")


def test_last_update_is_japan_time(browser, stack: PortalUnderTest, screenshots: Path) -> None:
    # A browser set to UTC must still show Japan time, as every other time on the portal is.
    context = browser.new_context(locale="ja-JP", timezone_id="UTC", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, stack, screenshots)
    page.wait_for_function("document.getElementById('updated').textContent.startsWith('最終更新')", timeout=WAIT_MILLISECONDS)
    shown = page.inner_text("#updated").split()[-1]
    context.close()

    japan_now = datetime.now(timezone(timedelta(hours=9)))
    shown_at = datetime.combine(japan_now.date(), datetime.strptime(shown, "%H:%M:%S").time(), japan_now.tzinfo)
    assert abs((japan_now - shown_at).total_seconds()) % 86_400 < 120, f"shown {shown}, Japan time {japan_now:%H:%M:%S}"


def test_complaint_clear_of_next_line(page, stack: PortalUnderTest, screenshots: Path) -> None:
    sign_in(page, stack, screenshots, role="nurse")
    sent = stack.hub.send(sample_packet(hospital_codes=[HOSPITAL_CODE], chief_complaint="意識障害・右片麻痺・構音障害"))[0]
    card = wait_for_card(page, sent.transfer_id)
    card.screenshot(path=str(screenshots / "09-complaint-spacing.png"))
    complaint = card.query_selector(".complaint").bounding_box()
    detail = card.query_selector(".complaint + .muted").bounding_box()

    assert detail["y"] - (complaint["y"] + complaint["height"]) >= 4
