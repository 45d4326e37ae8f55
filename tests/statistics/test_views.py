"""Admin screens: sign-in, department isolation, charts and downloads."""

from __future__ import annotations

import io
import re

import openpyxl

from hub.models import ApiClient, db

from .conftest import ADMIN_A, ADMIN_B, DEVICE_A, USER_PASSWORD


def signed_in(app, token: str = ADMIN_A):
    client = app.test_client()
    response = client.post("/admin/statistics/login", data={"token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf(client) -> str:
    page = client.get("/admin/statistics/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_report_requires_sign_in(app):
    response = app.test_client().get("/admin/statistics/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/statistics/login")


def test_device_token_rejected(app):
    response = app.test_client().post("/admin/statistics/login", data={"token": DEVICE_A})
    assert response.status_code == 401
    assert "管理者の権限がありません" in response.get_data(as_text=True)


def test_report_page_shows_own_figures(app):
    page = signed_in(app).get("/admin/statistics/")
    text = page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    assert page.mimetype_params["charset"] == "utf-8"
    assert "札幌市消防局" in text
    assert "事案数: <strong>3</strong>" in text


def test_report_page_has_svg_charts(app):
    text = signed_in(app).get("/admin/statistics/").get_data(as_text=True)
    assert text.count("<svg") >= 5
    assert "<script" not in text


def test_other_department_invisible(app):
    client = signed_in(app, ADMIN_A)
    text = client.get("/admin/statistics/?department=FD-B").get_data(as_text=True)
    assert "HYPERLINK" not in text
    assert "事案数: <strong>3</strong>" in text


def test_other_department_download_invisible(app):
    client = signed_in(app, ADMIN_A)
    content = client.get("/admin/statistics/records.csv?department=FD-B").get_data().decode("utf-8-sig")
    assert "B-1" not in content
    assert "A-1" in content


def test_admin_b_sees_only_b(app):
    content = signed_in(app, ADMIN_B).get("/admin/statistics/records.csv").get_data().decode("utf-8-sig")
    assert "B-1" in content
    assert "A-1" not in content


def test_revoked_admin_loses_access(app):
    client = signed_in(app)
    with app.app_context():
        admin = db.session.execute(db.select(ApiClient).where(ApiClient.name == "admin-a")).scalar_one()
        admin.role = "device"
        db.session.commit()
    assert client.get("/admin/statistics/").status_code == 302


def test_csv_download_has_bom(app):
    response = signed_in(app).get("/admin/statistics/report.csv?from=2026-01-01&to=2026-01-31")
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "事案数,2" in response.data.decode("utf-8-sig")


def test_xlsx_download_opens(app):
    response = signed_in(app).get("/admin/statistics/report.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert "月別" in workbook.sheetnames


def test_bad_period_is_explained(app):
    response = signed_in(app).get("/admin/statistics/?from=2026-13-01")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True)


def test_unit_station_needs_csrf(app):
    client = signed_in(app)
    client.post("/admin/statistics/unit-stations", data={"unit": "中央救急1", "station": "中央署"})
    text = client.get("/admin/statistics/").get_data(as_text=True)
    assert "中央署" not in text


def test_unit_station_form(app):
    client = signed_in(app)
    token = csrf(client)
    client.post("/admin/statistics/unit-stations", data={"unit": "中央救急1", "station": "中央署", "csrf_token": token})
    text = client.get("/admin/statistics/").get_data(as_text=True)
    assert "中央署" in text


def test_pages_forbid_scripts(app):
    response = signed_in(app).get("/admin/statistics/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_logout_ends_session(app):
    client = signed_in(app)
    client.post("/admin/statistics/logout", data={"csrf_token": csrf(client)})
    assert client.get("/admin/statistics/").status_code == 302


def test_user_account_sign_in(app):
    client = app.test_client()
    response = client.post("/admin/statistics/login", data={"login": "fd-a-admin", "password": USER_PASSWORD})
    assert response.status_code == 302
    assert "事案数: <strong>3</strong>" in client.get("/admin/statistics/").get_data(as_text=True)


def test_wrong_password_rejected(app):
    response = app.test_client().post("/admin/statistics/login", data={"login": "fd-a-admin", "password": "x"})
    assert response.status_code == 401
    assert "パスワードが正しくありません" in response.get_data(as_text=True)


def test_hospital_user_rejected(app):
    response = app.test_client().post("/admin/statistics/login", data={"login": "fd-a-nurse", "password": USER_PASSWORD})
    assert response.status_code == 401
    assert "権限がありません" in response.get_data(as_text=True)


def test_logout_expires_user_session(app):
    from hub.models import UserSession, utcnow

    client = app.test_client()
    client.post("/admin/statistics/login", data={"login": "fd-a-admin", "password": USER_PASSWORD})
    client.post("/admin/statistics/logout", data={"csrf_token": csrf(client)})
    with app.app_context():
        user_session = db.session.execute(db.select(UserSession)).scalars().one()
        assert user_session.expires_at <= utcnow()


def test_missing_tables_explained(app):
    from hub.statistics.models import STATISTICS_TABLES

    client = signed_in(app)
    with app.app_context():
        db.metadata.drop_all(db.engine, tables=STATISTICS_TABLES)
    response = client.get("/admin/statistics/")
    assert response.status_code == 503
    assert "python -m hub migrate" in response.get_data(as_text=True)
