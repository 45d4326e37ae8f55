"""Fixtures for the field unit's browser walk-through.

Real parts only: pcscd with the vpcd driver and the virtual card attached to it.
PcscdProcess waits for the machine-wide lock before starting pcscd. The hub and the
field unit run as separate HTTP processes on free loopback ports, and Playwright
drives Debian's headless Chromium. Screenshots go to test-output/browser/field_unit/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.field_unit.conftest import HubProcess, build_demo_var, free_port

REPO = Path(__file__).resolve().parents[3]
OUTPUT = REPO / "test-output" / "browser" / "field_unit"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class FieldStack:
    hub: HubProcess
    field_url: str
    var_dir: Path
    card: dict[str, Any]


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process


def _wait(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _card_ready() -> bool:
    from mynacard import pcsc
    from mynacard.errors import CardError

    try:
        with pcsc.connect(None):
            return True
    except CardError:
        return False


@pytest.fixture(scope="module")
def field_stack() -> Iterator[FieldStack]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: run scripts/test.sh, which installs it")

    from mynacard.virtual.pcscd import PcscdProcess

    var_dir = OUTPUT / "var"
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    description = build_demo_var(var_dir)
    hub = HubProcess(var_dir, free_port(), description)
    card = description["cards"][0]
    vpcd_port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    with PcscdProcess(var_dir / "pcscd", vpcd_port=vpcd_port, replace_existing=True, lock_wait=600.0):
        try:
            processes.append(_spawn([sys.executable, "-m", "mynacard", "vcard", "--card-dir", card["card_dir"], "--port", str(vpcd_port)], {}, var_dir / "card.log"))
            _wait(_card_ready, "virtual card")
            hub.start()
            field_port = free_port()
            field_env = {
                "FIELD_INSTANCE_DIR": str(var_dir / "field_unit"),
                "FIELD_HUB_URL": hub.url,
                "FIELD_DEVICE_TOKEN": hub.device_token,
                "FIELD_UNIT_NAME": description["unit_name"],
                "FIELD_SYNC_SECONDS": "0.5",
                "FIELD_BACKOFF_MAX_SECONDS": "1",
                "FIELD_HUB_TIMEOUT_SECONDS": "2",
                "FIELD_LOCK_SECONDS": "600",
                "FIELD_TRUST_DIR": description["trust_dir"],
            }
            processes.append(_spawn([sys.executable, "-m", "field_unit", "serve", "--port", str(field_port)], field_env, var_dir / "field_unit.log"))
            field_url = f"http://127.0.0.1:{field_port}"
            _wait(lambda: _http_ok(f"{field_url}/api/status"), "field unit")
            yield FieldStack(hub, field_url, var_dir, card)
        finally:
            hub.stop()
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def page(field_stack: FieldStack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", timezone_id="Asia/Tokyo")
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
