"""Every error a browser can meet is a Japanese page in the portal's layout, never Werkzeug's English one."""

from __future__ import annotations

from flask import Flask

from tests.hospital_portal.conftest import Account, sign_in


def test_get_logout_offers_button(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    response = client.get("/logout")

    assert response.status_code == 200
    assert "ログアウトする" in response.get_data(as_text=True)


def test_get_logout_keeps_session(portal: Flask, accounts: dict[str, Account]) -> None:
    client = portal.test_client()
    sign_in(client, accounts["doctor"])
    client.get("/logout")

    assert client.get("/").status_code == 200


def test_405_is_japanese(portal: Flask) -> None:
    response = portal.test_client().put("/login")

    assert response.status_code == 405
    assert "この操作はできません" in response.get_data(as_text=True)


def test_405_has_no_english(portal: Flask) -> None:
    body = portal.test_client().put("/login").get_data(as_text=True)

    assert "Method Not Allowed" not in body


def test_404_is_japanese(portal: Flask) -> None:
    body = portal.test_client().get("/no/such/page").get_data(as_text=True)

    assert "見つかりません" in body


def test_500_is_japanese(portal: Flask) -> None:
    @portal.get("/test-boom")
    def boom() -> str:
        raise RuntimeError("boom")

    response = portal.test_client().get("/test-boom")

    assert response.status_code == 500
    assert "システムエラー" in response.get_data(as_text=True)


def test_500_has_no_english(portal: Flask) -> None:
    @portal.get("/test-boom")
    def boom() -> str:
        raise RuntimeError("boom")

    body = portal.test_client().get("/test-boom").get_data(as_text=True)

    assert "Internal Server Error" not in body


def test_api_error_is_json(portal: Flask) -> None:
    response = portal.test_client().delete("/api/inbox")

    assert response.status_code == 405
    assert response.get_json()["error"].startswith("このページは")
