"""Fixtures for field-unit tests: a real hub process on a free loopback port and fresh tablet apps.

The hub runs as ``python -m hub serve`` on an instance folder built by
scripts/setup_demo.py from the real public data, once per session. Each test gets
its own tablet instance folder and its own copy of a virtual card, so PIN counters
do not leak between tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HubProcess:
    """A hub server subprocess that tests can stop and start again on the same port."""

    var_dir: Path
    port: int
    description: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "HUB_INSTANCE_DIR": str(self.var_dir / "hub"),
            "HUB_TRUST_DIR": self.description["trust_dir"],
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.var_dir / "hub.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--port", str(self.port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"hub did not start on port {self.port}; see {self.var_dir / 'hub.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def device_token(self) -> str:
        return self.description["tokens"]["field_unit"]

    @property
    def hospital_token(self) -> str:
        return self.description["tokens"]["hospital"]


def build_demo_var(var_dir: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "scripts"))
    import setup_demo

    return setup_demo.build(var_dir, setup_demo.shared_data_dir())


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    var_dir = tmp_path_factory.mktemp("hub-var")
    description = build_demo_var(var_dir)
    process = HubProcess(var_dir, free_port(), description)
    process.start()
    yield process
    process.stop()


@pytest.fixture()
def card_dir(hub: HubProcess, tmp_path: Path) -> Path:
    """A private copy of the first demo card (PIN 1234)."""
    target = tmp_path / "card"
    shutil.copytree(hub.description["cards"][0]["card_dir"], target)
    return target


@pytest.fixture()
def field_app(hub: HubProcess, card_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from field_unit.app import create_app

    monkeypatch.setenv("FIELD_INSTANCE_DIR", str(tmp_path / "field"))
    app = create_app(
        {
            "TESTING": True,
            "HUB_URL": hub.url,
            "DEVICE_TOKEN": hub.device_token,
            "UNIT_NAME": "試験救急隊",
            "VIRTUAL_CARD_DIR": str(card_dir),
            "TRUST_DIR": hub.description["trust_dir"],
            "HUB_TIMEOUT_SECONDS": 3.0,
            "SCHEDULER": False,
        }
    )
    yield app
    from field_unit.models import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def ctx(field_app):
    with field_app.app_context():
        yield field_app


def unreachable_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def hub_rows(hub: HubProcess, query: str, *args: object) -> list[Any]:
    import sqlite3

    connection = sqlite3.connect(hub.var_dir / "hub" / "hub.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(query, args).fetchall()
    finally:
        connection.close()


def demo_hospital(hub: HubProcess) -> str:
    return hub.description["demo_hospital"]["code"]


def stack_json(hub: HubProcess) -> dict[str, Any]:
    return json.loads((hub.var_dir / "stack.json").read_text(encoding="utf-8"))
