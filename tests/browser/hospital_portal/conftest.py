"""Browser fixtures for the portal: a real hub and portal on loopback and Debian's headless Chromium.

Chromium is the Debian package at /usr/bin/chromium driven by the PyPI
playwright package, since a Playwright browser download cannot work here.
Screenshots go to test-output/browser/hospital_portal/.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hospital_portal.app import create_app
from hospital_portal.staff import create_staff
from tests.hospital_portal.servers import HOSPITAL_CODE, HubUnderTest, ServerThread, portal_config, start_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
    # The inbox plays its alert with WebAudio, which Chromium otherwise allows only after a click.
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[3] / "test-output" / "browser" / "hospital_portal"
PASSWORD = "correct-horse-battery"


@dataclass
class PortalUnderTest:
    url: str
    hub: HubUnderTest
    app: object

    def add_staff(self, role: str, emergency_view: bool) -> tuple[str, str | None]:
        """Create an account with a fresh login id; return the id and its TOTP secret."""
        login_id = f"{role}-{uuid.uuid4().hex[:6]}"
        with self.app.app_context():
            created = create_staff(HOSPITAL_CODE, login_id, f"試験 {role}", role, PASSWORD, emergency_view)

        return login_id, created.totp_secret


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalUnderTest]:
    folder = tmp_path_factory.mktemp("browser-portal")
    trust_dir = folder / "trust"
    trust_dir.mkdir()
    hub = start_hub(folder, trust_dir)
    app = create_app(portal_config(hub, folder, SCREEN_POLL_SECONDS=1.0))
    portal_server = ServerThread(app).start()
    yield PortalUnderTest(portal_server.url, hub, app)
    portal_server.stop()
    hub.server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (scripts/bootstrap.sh installs it)")

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOT_DIR, ignore_errors=True)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
