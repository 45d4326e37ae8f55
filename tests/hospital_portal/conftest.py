"""Fixtures for the portal tests: a real hub on loopback, the portal app, staff accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hospital_portal import totp
from hospital_portal.app import create_app
from hospital_portal.models import Staff
from hospital_portal.staff import create_staff
from tests.hospital_portal.servers import HOSPITAL_CODE, HubUnderTest, portal_config, start_hub

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubUnderTest]:
    folder = tmp_path_factory.mktemp("portal-hub")
    trust_dir = folder / "trust"
    trust_dir.mkdir()
    running = start_hub(folder, trust_dir)
    yield running
    running.server.stop()


@pytest.fixture()
def portal(hub: HubUnderTest, tmp_path: Path) -> Flask:
    return create_app(portal_config(hub, tmp_path))


@dataclass
class Account:
    login_id: str
    staff_id: int
    totp_secret: str | None


@pytest.fixture()
def accounts(portal: Flask) -> dict[str, Account]:
    """A doctor and a nurse with emergency-view rights, a clerk without, and a doctor of another hospital."""
    specs = {
        "doctor": (HOSPITAL_CODE, "dr.sato", "佐藤 医師", "doctor", True),
        "nurse": (HOSPITAL_CODE, "ns.suzuki", "鈴木 看護師", "nurse", True),
        "clerk": (HOSPITAL_CODE, "ck.tanaka", "田中 事務", "clerk", False),
        "other_doctor": ("H-2", "dr.other", "他院 医師", "doctor", True),
    }
    created = {}
    with portal.app_context():
        for key, (code, login_id, name, role, emergency_view) in specs.items():
            new = create_staff(code, login_id, name, role, PASSWORD, emergency_view)
            created[key] = Account(login_id, new.staff.id, new.totp_secret)

    return created


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def current_code(secret: str) -> str:
    import time

    return totp.totp(totp.decode_secret(secret), time.time())


def sign_in(client: FlaskClient, account: Account, password: str = PASSWORD) -> None:
    """Sign in through the forms, with the TOTP step when the account has one."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login_id": account.login_id, "password": password, "csrf_token": token, "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)

    if account.totp_secret:
        assert response.headers["Location"].endswith("/login/totp")
        token = csrf_from(client.get("/login/totp").get_data(as_text=True))
        response = client.post("/login/totp", data={"code": current_code(account.totp_secret), "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)


def page_csrf(client: FlaskClient, path: str = "/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def staff_row(portal: Flask, staff_id: int) -> Staff:
    from hospital_portal.models import db

    with portal.app_context():
        return db.session.get(Staff, staff_id)
