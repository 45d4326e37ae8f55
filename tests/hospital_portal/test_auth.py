"""Staff sign-in: passwords, the TOTP step, lockout, hospital binding and CSRF."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from hospital_portal import totp
from hospital_portal.models import Staff, db
from hospital_portal.staff import StaffError, create_staff
from tests.hospital_portal.conftest import PASSWORD, Account, csrf_from, current_code, sign_in


def post_login(client, login_id: str, password: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login_id": login_id, "password": password, "csrf_token": token})


def test_inbox_needs_login(portal: Flask) -> None:
    response = portal.test_client().get("/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_page_is_japanese_utf8(portal: Flask) -> None:
    response = portal.test_client().get("/login")

    assert "charset=utf-8" in response.headers["Content-Type"]
    assert "職員ログイン" in response.get_data(as_text=True)


def test_password_is_hashed(portal: Flask, accounts: dict[str, Account]) -> None:
    with portal.app_context():
        staff = db.session.get(Staff, accounts["clerk"].staff_id)

        assert PASSWORD not in staff.password_hash
        assert staff.password_hash.startswith("scrypt:")


def test_clerk_signs_in_without_totp(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    response = post_login(client, "ck.tanaka", PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_emergency_view_needs_totp(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    response = post_login(client, "dr.sato", PASSWORD)

    assert response.headers["Location"].endswith("/login/totp")
    assert client.get("/").status_code == 302


def test_totp_step_signs_in(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])

    assert "佐藤 医師" in client.get("/").get_data(as_text=True)


def test_wrong_totp_rejected(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    post_login(client, "dr.sato", PASSWORD)
    token = csrf_from(client.get("/login/totp").get_data(as_text=True))
    good = current_code(accounts["doctor"].totp_secret)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post("/login/totp", data={"code": wrong, "csrf_token": token})

    assert response.status_code == 401
    assert "確認コードが違う" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_totp_code_not_reusable(portal: Flask, accounts: dict[str, Account]) -> None:
    first = portal.test_client()
    sign_in(first, accounts["doctor"])

    second = portal.test_client()
    post_login(second, "dr.sato", PASSWORD)
    token = csrf_from(second.get("/login/totp").get_data(as_text=True))
    response = second.post("/login/totp", data={"code": current_code(accounts["doctor"].totp_secret), "csrf_token": token})

    assert response.status_code == 401


def test_wrong_password_message(portal: Flask, accounts: dict[str, Account]) -> None:
    response = post_login(portal.test_client(), "ck.tanaka", "wrong-password")

    assert response.status_code == 401
    assert "ログインIDまたはパスワードが違います" in response.get_data(as_text=True)


def test_unknown_id_same_message(portal: Flask, accounts: dict[str, Account]) -> None:
    response = post_login(portal.test_client(), "nobody", "wrong-password")

    assert response.status_code == 401
    assert "ログインIDまたはパスワードが違います" in response.get_data(as_text=True)


def test_lockout_after_five_failures(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    for _ in range(5):
        post_login(client, "ck.tanaka", "wrong-password")

    response = post_login(client, "ck.tanaka", PASSWORD)

    assert response.status_code == 401
    assert "ロック" in response.get_data(as_text=True)


def test_other_hospital_staff_cannot_sign_in(portal: Flask, accounts: dict[str, Account]) -> None:
    response = post_login(portal.test_client(), "dr.other", PASSWORD)

    assert response.status_code == 401


def test_post_without_csrf_rejected(portal: Flask, accounts: dict[str, Account]) -> None:
    response = portal.test_client().post("/login", data={"login_id": "ck.tanaka", "password": PASSWORD})

    assert response.status_code == 400
    assert "再読み込み" in response.get_data(as_text=True)


def test_open_redirect_blocked(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login_id": "ck.tanaka", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"})

    assert response.headers["Location"] == "/"


def test_short_password_rejected(portal: Flask) -> None:
    with portal.app_context():
        try:
            create_staff("H-1", "short", "短い", "nurse", "abc", False)
        except StaffError as exc:
            assert "10 文字以上" in exc.user_message
        else:
            raise AssertionError("a 3-character password was accepted")


def test_emergency_view_gets_totp_secret(portal: Flask) -> None:
    with portal.app_context():
        created = create_staff("H-1", "ns.new", "新人 看護師", "nurse", PASSWORD, True)

    assert created.totp_secret is not None
    assert totp.verify(created.totp_secret, totp.totp(totp.decode_secret(created.totp_secret), time.time())) is not None


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３", "۱۲۳۴۵۶"])
def test_non_ascii_totp_gets_japanese_error(portal: Flask, accounts: dict[str, Account], code: str) -> None:
    client = portal.test_client()
    post_login(client, "dr.sato", PASSWORD)
    token = csrf_from(client.get("/login/totp").get_data(as_text=True))
    response = client.post("/login/totp", data={"code": code, "csrf_token": token})

    assert response.status_code == 401
    assert "数字6桁" in response.get_data(as_text=True)


def test_fullwidth_totp_signs_in(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    post_login(client, "dr.sato", PASSWORD)
    token = csrf_from(client.get("/login/totp").get_data(as_text=True))
    code = current_code(accounts["doctor"].totp_secret).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = client.post("/login/totp", data={"code": code, "csrf_token": token})

    assert response.status_code == 302
