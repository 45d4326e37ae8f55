"""Admin screens and downloads of the statistics (Flask blueprint under /admin/statistics).

An administrator signs in either as a user with role ``fire_admin`` (login
and password, through :mod:`hub.accounts`, the session lasting as long as the
hub's user session) or, provisionally, with the bearer token of an
``ApiClient`` with role ``admin`` (8 hours). The Flask session keeps only the
id of the user session or client. Each request reloads it and checks the
role again, so a changed role or an expired session ends access at once. The
department is always the fire department above the account's organization
(``hub.accounts.fire_department_of``), and no request parameter can choose
another department.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from sqlalchemy.exc import SQLAlchemyError

from hub import accounts
from hub.auth import token_digest
from hub.models import ApiClient, Organization, User, UserSession, db, utcnow
from hub.problems import ApiProblem
from hub.statistics import charts, compare as comparison, compute, export, importing, store

logger = logging.getLogger(__name__)

bp = Blueprint("statistics", __name__, url_prefix="/admin/statistics", template_folder="templates")

USER_ROLE = "fire_admin"
ADMIN_ROLE = "admin"
TOKEN_SESSION_HOURS = 8
PUBLIC_ENDPOINTS = ("statistics.login",)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"


@bp.record_once
def _configure_session(state: Any) -> None:
    """Give the hub a session key if it has none, so the admin session works."""
    app: Flask = state.app
    if app.secret_key:
        return

    # NOTE: without HUB_SECRET_KEY the key is random per process, so a restart
    # signs every administrator out. The hub config should own this setting.
    app.secret_key = os.environ.get("HUB_SECRET_KEY") or secrets.token_bytes(32)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")


@bp.before_request
def _require_admin() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None

    admin = _session_admin()
    if admin is None:
        session.clear()
        return redirect(url_for("statistics.login"))

    if request.method == "POST" and not _csrf_valid():
        flash("画面の有効期限が切れました。もう一度操作してください。", "error")
        return redirect(url_for("statistics.index"))

    g.admin = admin
    g.department_code = admin.department_code
    return None


@bp.errorhandler(SQLAlchemyError)
def _database_error(error: SQLAlchemyError) -> Any:
    db.session.rollback()
    logger.error("statistics database error: %s", error.__class__.__name__, exc_info=error)
    if _is_missing_table(error):
        message = "統計用のテーブルがデータベースにありません。ハブの管理者にデータベースの移行(python -m hub migrate)を依頼してください。"
    else:
        message = "統計のデータを読み書きできませんでした。時間をおいて再度お試しください。"
    return Response(message, 503, mimetype="text/plain")


def _is_missing_table(error: SQLAlchemyError) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


@bp.after_request
def _secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global()
def csrf_token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("statistics/login.html")

    token = request.form.get("token", "").strip()
    if token:
        return _sign_in_with_token(token)

    return _sign_in_with_password(request.form.get("login", "").strip(), request.form.get("password", ""))


def _sign_in_with_password(login_name: str, password: str) -> Any:
    try:
        user_session, _token = accounts.sign_in(login_name, password)
    except ApiProblem:
        return _sign_in_failed("ログイン名またはパスワードが正しくありません。")

    user = db.session.get(User, user_session.user_id)
    if user is None or user.role != USER_ROLE or accounts.fire_department_of(user.organization_code) is None:
        db.session.rollback()
        return _sign_in_failed("このアカウントには消防本部の統計を見る権限がありません。")

    db.session.commit()
    session.clear()
    session["user_session_id"] = user_session.id
    logger.info("statistics administrator user %s signed in", user.login)
    return redirect(url_for("statistics.index"))


def _sign_in_with_token(token: str) -> Any:
    client = _admin_by_token(token) if token.isascii() else None
    if client is None or accounts.fire_department_of(client.organization_code) is None:
        return _sign_in_failed("トークンが正しくないか、管理者の権限がありません。")

    session.clear()
    session["admin_client_id"] = client.id
    session["signed_in_at"] = time.time()
    logger.info("statistics administrator client %s signed in", client.name)
    return redirect(url_for("statistics.index"))


def _sign_in_failed(message: str) -> Any:
    logger.warning("statistics sign-in rejected from %s", request.remote_addr)
    flash(message, "error")
    return render_template("statistics/login.html"), 401


@bp.post("/logout")
def logout() -> Any:
    user_session = db.session.get(UserSession, session.get("user_session_id", -1))
    if user_session is not None:
        user_session.expires_at = utcnow()  # the bearer token of this sign-in ends too
        db.session.commit()

    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("statistics.login"))


@bp.get("/")
def index() -> Any:
    start, end = _period_args()
    frame = store.department_frame(g.department_code)
    report = compute.build_report(frame, g.department_code, start, end)
    return render_template(
        "statistics/report.html",
        report=report,
        department=_department_name(),
        tables=export.report_tables(report),
        chart_sections=_report_charts(report),
        downloads=_download_links(start, end),
        start=start,
        end=end,
    )


@bp.get("/report.csv")
def report_csv() -> Response:
    report = _current_report()
    return _download(export.report_csv(report), "text/csv; charset=utf-8", "statistics", "csv")


@bp.get("/report.xlsx")
def report_xlsx() -> Response:
    report = _current_report()
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(export.report_xlsx(report), mimetype, "statistics", "xlsx")


@bp.get("/records.csv")
def records_csv() -> Response:
    start, end = _period_args()
    frame = compute.filter_period(store.department_frame(g.department_code), start, end)
    return _download(export.records_csv(frame), "text/csv; charset=utf-8", "incidents", "csv")


@bp.post("/unit-stations")
def unit_station() -> Any:
    unit = request.form.get("unit", "").strip()
    station = request.form.get("station", "").strip()
    if not unit or not station or len(unit) > 120 or len(station) > 120:
        flash("救急隊名と署所名を入力してください(各120文字まで)。", "error")
        return redirect(url_for("statistics.index"))

    store.set_unit_station(g.department_code, unit, station)
    flash(f"救急隊「{unit}」を署所「{station}」に登録しました。", "info")
    return redirect(url_for("statistics.index"))


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@bp.route("/import", methods=["GET", "POST"])
def import_page() -> Any:
    if request.method == "GET":
        return render_template("statistics/import.html", department=_department_name(), problems=[])

    data = request.files.get("records")
    mapping = request.files.get("mapping")
    if data is None or mapping is None or not data.filename or not mapping.filename:
        return _import_rejected(["活動記録の CSV と列の対応表(TOML)の両方を選んでください。"])

    content = data.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        return _import_rejected([f"CSV が大きすぎます({MAX_UPLOAD_BYTES // 1024 // 1024} MB まで)。分割して取り込んでください。"])

    try:
        mapping_text = mapping.read(1024 * 1024).decode("utf-8-sig")
    except UnicodeDecodeError:
        return _import_rejected(["対応表は UTF-8 で保存してください。"])

    try:
        result = importing.import_activity_records(g.department_code, content, mapping_text, data.filename, g.admin.name)
    except importing.ImportRejected as rejected:
        return _import_rejected(rejected.problems)

    logger.info("activity records imported: batch %d for %s", result.batch_id, g.department_code)
    flash(f"{result.inserted + result.replaced} 件を取り込みました(新規 {result.inserted} 件、置き換え {result.replaced} 件)。", "info")
    return redirect(url_for("statistics.index"))


@bp.get("/compare")
def compare() -> Any:
    frame = store.department_frame(g.department_code)
    result = comparison.department_comparison(g.department_code, frame)
    prefectures, departments = comparison.fdma_choices()
    weekly = result.weekly
    labels = [week.isoformat() for week in weekly.index]
    own = {comparison.SERIES_LABELS[key]: _floats(weekly[key]) for key in ("own_records", "own_fdma", "prefecture")}
    national = {comparison.SERIES_LABELS["national"]: _floats(weekly["national"])}
    return render_template(
        "statistics/compare.html",
        department=_department_name(),
        result=result,
        weekly=weekly.rename(columns=comparison.SERIES_LABELS),
        own_chart=charts.line_chart(labels, own, "自本部と都道府県の救急搬送困難事案(週)"),
        national_chart=charts.line_chart(labels, national, "全国の救急搬送困難事案(週)"),
        prefectures=prefectures,
        departments=departments,
    )


@bp.post("/profile")
def profile() -> Any:
    prefecture = request.form.get("prefecture", "").strip()
    fdma_name = request.form.get("fdma_department_name", "").strip()
    prefectures, departments = comparison.fdma_choices()
    if prefecture not in prefectures or (fdma_name and fdma_name not in departments):
        flash("都道府県(と FDMA の消防本部名)は一覧から選んでください。FDMA の系列が未取込みなら先に取り込んでください。", "error")
        return redirect(url_for("statistics.compare"))

    comparison.set_department_profile(g.department_code, prefecture, fdma_name)
    flash("比較の対象を保存しました。", "info")
    return redirect(url_for("statistics.compare"))


def _import_rejected(problems: list[str]) -> Any:
    return render_template("statistics/import.html", department=_department_name(), problems=problems), 400


def _csrf_valid() -> bool:
    expected = session.get("csrf_token")
    submitted = request.form.get("csrf_token", "")
    return bool(expected) and secrets.compare_digest(expected, submitted)


@dataclass(frozen=True)
class Administrator:
    """The signed-in administrator: a user account or an admin API client."""

    name: str
    department_code: str


def _session_admin() -> Administrator | None:
    """Return the administrator of this browser session, re-checked against the database."""
    if "user_session_id" in session:
        return _user_admin(session["user_session_id"])

    client_id = session.get("admin_client_id")
    signed_in_at = session.get("signed_in_at", 0)
    if client_id is None or time.time() - signed_in_at > TOKEN_SESSION_HOURS * 3600:
        return None

    client = db.session.get(ApiClient, client_id)
    if client is None or client.role != ADMIN_ROLE:
        return None

    department = accounts.fire_department_of(client.organization_code)
    return Administrator(client.name, department) if department else None


def _user_admin(user_session_id: int) -> Administrator | None:
    user_session = db.session.get(UserSession, user_session_id)
    if user_session is None or user_session.user_id is None or user_session.expires_at < utcnow():
        return None

    user = db.session.get(User, user_session.user_id)
    if user is None or user.role != USER_ROLE:
        return None

    department = accounts.fire_department_of(user.organization_code)
    return Administrator(user.login, department) if department else None


def _admin_by_token(token: str) -> ApiClient | None:
    client = db.session.execute(
        db.select(ApiClient).where(ApiClient.token_sha256 == token_digest(token))
    ).scalar_one_or_none()
    if client is None or client.role != ADMIN_ROLE:
        return None

    return client


def _department_name() -> str:
    name = db.session.execute(
        db.select(Organization.name).where(Organization.code == g.department_code)
    ).scalar_one_or_none()
    return name or g.department_code


def _period_args() -> tuple[date | None, date | None]:
    """Return the period from ``from`` / ``to`` query args, or stop with a Japanese 400 page."""
    values = []
    for name in ("from", "to"):
        text = request.args.get(name, "").strip()
        if not text:
            values.append(None)
            continue
        try:
            values.append(date.fromisoformat(text))
        except ValueError:
            abort(Response(f"期間の日付「{text}」は YYYY-MM-DD の形式で指定してください。", 400, mimetype="text/plain"))

    start, end = values
    if start and end and start > end:
        abort(Response("期間の開始日が終了日より後になっています。", 400, mimetype="text/plain"))

    return start, end


def _current_report() -> compute.Report:
    start, end = _period_args()
    return compute.build_report(store.department_frame(g.department_code), g.department_code, start, end)


def _download(content: bytes, mimetype: str, stem: str, extension: str) -> Response:
    filename = f"{stem}_{g.department_code}_{date.today():%Y%m%d}.{extension}"
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _report_charts(report: compute.Report) -> list[tuple[str, Any]]:
    months = report.breakdowns["month"]
    funnel = report.myna_funnel
    by_card = report.scene_by_card
    return [
        ("月別 現場到着所要時間 平均(分)", charts.bar_chart(list(months.index), _floats(months["response_mean_min"]), "分")),
        ("照会回数の分布(件)", charts.bar_chart(list(report.inquiry_distribution.index), _floats(report.inquiry_distribution["count"]), "件")),
        ("現場滞在時間の分布(件)", charts.bar_chart(list(report.scene_distribution.index), _floats(report.scene_distribution["count"]), "件")),
        ("マイナ救急の実施状況(件)", charts.bar_chart(list(funnel.index), _floats(funnel["count"]), "件")),
        ("マイナ救急の有無別 現場滞在時間 平均(分)", charts.bar_chart(list(by_card.index), _floats(by_card["mean_min"]), "分")),
    ]


def _download_links(start: date | None, end: date | None) -> list[tuple[str, str]]:
    period = {name: value.isoformat() for name, value in (("from", start), ("to", end)) if value}
    return [
        ("CSV(Excel 用)", url_for("statistics.report_csv", **period)),
        ("Excel(.xlsx)", url_for("statistics.report_xlsx", **period)),
        ("匿名化事案一覧(CSV)", url_for("statistics.records_csv", **period)),
    ]


@bp.app_template_filter("stat_number")
def stat_number(value: Any) -> str:
    """Format a table cell: '-' for a missing figure, one decimal for a mean or rate."""
    if value is None or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"

    return str(value)


@bp.app_template_filter("stat_count")
def stat_count(value: Any) -> str:
    """Format a count that may be missing (NaN) as an integer or '-'."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"

    return f"{int(value):,}"


@bp.app_template_filter("table_rows")
def table_rows(table: pd.DataFrame) -> list[tuple[Any, list[Any]]]:
    """Return (label, values) per row with each column's own type (iterrows would make ints floats)."""
    return [(label, values) for label, *values in table.itertuples(name=None)]


def _floats(values: Any) -> list[float]:
    return [float(value) for value in values]
