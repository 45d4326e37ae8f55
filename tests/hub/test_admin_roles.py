"""The admin CLI, and hospital endpoints under a staff session: each role sees only its own data."""

from __future__ import annotations

import argparse
import io

import pytest

from hub import admin_cli
from hub.accounts import create_user
from hub.auth import token_digest
from hub.models import ApiClient, Organization, db
from tests.hub.conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, auth
from tests.hub.test_api import packet, request_summary

PASSWORD = "correct-horse-battery"


def admin(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    admin_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["admin", *argv])
    out, err = io.StringIO(), io.StringIO()
    original = admin_cli.sys.stdin
    admin_cli.sys.stdin = io.StringIO(stdin)
    try:
        return admin_cli.run(args, out, err), out.getvalue(), err.getvalue()
    finally:
        admin_cli.sys.stdin = original


def sign_in(client, login: str) -> str:
    return client.post("/api/v1/sessions", json={"login": login, "password": PASSWORD}).json["token"]


def test_admin_builds_fire_department_tree(app):
    with app.app_context():
        assert admin("fire-department", "FD-9", "北消防本部")[0] == 0
        assert admin("station", "ST-9", "北消防署", "--parent", "FD-9")[0] == 0
        assert admin("unit", "U-9", "北救急1", "--parent", "ST-9")[0] == 0
        unit = db.session.execute(db.select(Organization).where(Organization.code == "U-9")).scalar_one()

        assert unit.parent_code == "ST-9"


def test_admin_device_token_shown_once(app):
    with app.app_context():
        admin("fire-department", "FD-9", "北消防本部")
        admin("unit", "U-9", "北救急1", "--parent", "FD-9")
        status, out, _ = admin("device", "tablet-9", "--unit", "U-9")
        token = out.strip().splitlines()[-1]
        row = db.session.execute(db.select(ApiClient).where(ApiClient.name == "tablet-9")).scalar_one()

        assert status == 0
        assert "一度しか表示しません" in out
        assert row.token_sha256 == token_digest(token)
        assert row.role == "device"


def test_admin_rejects_wrong_parent_kind(app):
    with app.app_context():
        status, _, err = admin("unit", "U-9", "救急隊", "--parent", "H-1")

        assert status == 1
        assert "病院" in err


def test_admin_rejects_duplicate_code(app):
    with app.app_context():
        status, _, err = admin("hospital", "H-1", "重複病院")

        assert status == 1
        assert "登録済み" in err


def test_admin_user_short_password_rejected(app):
    with app.app_context():
        status, _, err = admin("user", "nurse", "看護師", "--role", "hospital_staff", "--organization", "H-1",
                               "--password-stdin", stdin="short\n")

        assert status == 1
        assert "12 文字" in err


def test_admin_staff_must_belong_to_hospital(app):
    with app.app_context():
        status, _, err = admin("user", "nurse", "看護師", "--role", "hospital_staff", "--organization", "FD-1",
                               "--password-stdin", stdin=PASSWORD + "\n")

        assert status == 1
        assert "病院を指定" in err


@pytest.fixture()
def staff(app):
    with app.app_context():
        admin("user", "nurse-1", "看護師一", "--role", "hospital_staff", "--organization", "H-1", "--password-stdin",
              stdin=PASSWORD + "\n")
        admin("user", "nurse-2", "看護師二", "--role", "hospital_staff", "--organization", "H-2", "--password-stdin",
              stdin=PASSWORD + "\n")
        create_user("chief", "消防管理者", "fire_admin", "FD-1", PASSWORD)
        db.session.commit()


def send_packet(client, card) -> None:
    summary = request_summary(client, card).json
    client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))


def test_staff_session_sees_own_hospital(client, staff, issued_card):
    send_packet(client, issued_card)
    inbox = client.get("/api/v1/transfers", headers=auth(sign_in(client, "nurse-1")))

    assert inbox.status_code == 200
    assert len(inbox.json["transfers"]) == 1


def test_staff_session_other_hospital_empty(client, staff, issued_card):
    send_packet(client, issued_card)
    inbox = client.get("/api/v1/transfers", headers=auth(sign_in(client, "nurse-2")))

    assert inbox.json["transfers"] == []


def test_staff_cannot_touch_other_hospital_transfer(client, staff, issued_card):
    send_packet(client, issued_card)
    transfer_id = client.get("/api/v1/transfers", headers=auth(HOSPITAL_TOKEN)).json["transfers"][0]["transfer_id"]
    response = client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "accepted"},
                           headers=auth(sign_in(client, "nurse-2")))

    assert response.status_code == 404


def test_staff_status_change_audited_as_user(client, app, staff, issued_card):
    from hub.models import AuditEvent

    send_packet(client, issued_card)
    token = sign_in(client, "nurse-1")
    transfer_id = client.get("/api/v1/transfers", headers=auth(token)).json["transfers"][0]["transfer_id"]
    client.post(f"/api/v1/transfers/{transfer_id}/status", json={"status": "accepted"}, headers=auth(token))
    with app.app_context():
        actors = set(db.session.execute(db.select(AuditEvent.actor)).scalars())

    assert "user:nurse-1" in actors


def test_fire_admin_cannot_read_inbox(client, staff):
    response = client.get("/api/v1/transfers", headers=auth(sign_in(client, "chief")))

    assert response.status_code == 403


def test_device_cannot_read_inbox(client):
    response = client.get("/api/v1/transfers", headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403
