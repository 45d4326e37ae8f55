"""Sign-in with password and, for staff with 救急時閲覧権限 (emergency-view rights), a TOTP code.

Also owns the session helpers the other views use: the signed-in staff,
the ``login_required`` and ``permission_required`` decorators, and the CSRF
token that every POST form and fetch call must carry.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from hospital_portal.models import Staff, db
from hospital_portal.staff import StaffError, check_password, check_totp, mark_signed_in, may, record_audit
from hospital_portal.logsafe import portal_logger

logger = portal_logger(__name__)

bp = Blueprint("auth", __name__)


def signed_in_staff() -> Staff | None:
    """Return the signed-in staff member of this hospital, or None."""
    if "staff" in g:
        return g.staff

    staff_id = session.get("staff_id")
    staff = db.session.get(Staff, staff_id) if staff_id else None
    if staff is not None and (not staff.active or staff.hospital_code != current_app.config["HOSPITAL_CODE"]):
        staff = None

    g.staff = staff
    return staff


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if signed_in_staff() is None:
            return redirect(url_for("auth.login", next=request.path))

        return view(*args, **kwargs)

    return wrapped


def permission_required(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not may(signed_in_staff(), permission):
                abort(403, PERMISSION_MESSAGES.get(permission, "この操作を行う権限がありません。"))

            return view(*args, **kwargs)

        return wrapped

    return decorator


PERMISSION_MESSAGES = {
    "answer": "受入れの回答は医師または看護師が行います。",
    "arrival": "到着・引継ぎの確認は医師または看護師が行います。",
    "outcome": "初診時の診断と傷病程度は医師が記録します。",
    "prepare": "準備メモを書く権限がありません。",
    "emergency_view": "救急時閲覧権限がないため、傷病者情報は表示できません。",
}


def csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf_token"] = token

    return token


def check_csrf() -> None:
    """Reject a POST whose form field or X-CSRF-Token header does not match the session's token."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf_token") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        logger.warning("request rejected: CSRF token missing or wrong on %s", request.path)
        abort(400, "画面の有効期限が切れました。ページを再読み込みしてから、もう一度操作してください。")


@bp.before_app_request
def _protect_posts() -> None:
    if request.method == "POST":
        check_csrf()


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "current_staff": signed_in_staff(), "hospital": current_app.config["HOSPITAL_NAME"]}


@bp.get("/login")
def login() -> Any:
    return render_template("login.html", error=None, next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_submit() -> Any:
    hospital_code = current_app.config["HOSPITAL_CODE"]
    next_path = _safe_next(request.form.get("next"))
    if not hospital_code:
        return render_template("login.html", error="病院コード (PORTAL_HOSPITAL_CODE) が設定されていません。管理者に連絡してください。", next=next_path), 503

    try:
        staff = check_password(hospital_code, request.form.get("login_id", ""), request.form.get("password", ""))
    except StaffError as exc:
        logger.info("sign-in rejected at the password step")
        return render_template("login.html", error=exc.user_message, next=next_path), 401

    session.clear()
    if staff.emergency_view:
        session["pending_staff_id"] = staff.id
        session["next"] = next_path
        return redirect(url_for("auth.totp"))

    return _finish_sign_in(staff, next_path)


@bp.get("/login/totp")
def totp() -> Any:
    if not session.get("pending_staff_id"):
        return redirect(url_for("auth.login"))

    return render_template("totp.html", error=None)


@bp.post("/login/totp")
def totp_submit() -> Any:
    staff_id = session.get("pending_staff_id")
    staff = db.session.get(Staff, staff_id) if staff_id else None
    if staff is None:
        return redirect(url_for("auth.login"))

    try:
        check_totp(staff, request.form.get("code", ""))
    except StaffError as exc:
        logger.info("sign-in rejected at the TOTP step for staff %s", staff.id)
        return render_template("totp.html", error=exc.user_message), 401

    next_path = session.get("next") or url_for("views.inbox_page")
    session.clear()
    return _finish_sign_in(staff, next_path)


@bp.get("/logout")
def logout_page() -> Any:
    """Offer a sign-out button: a GET must not change state, and a link or typed address lands here."""
    return render_template("logout.html")


@bp.post("/logout")
def logout() -> Any:
    staff = signed_in_staff()
    if staff is not None:
        record_audit(staff, "sign_out")

    session.clear()
    return redirect(url_for("auth.login"))


def _finish_sign_in(staff: Staff, next_path: str) -> Any:
    session.permanent = True
    session["staff_id"] = staff.id
    csrf_token()
    mark_signed_in(staff)
    logger.info("staff %s signed in", staff.id)
    return redirect(next_path)


def _safe_next(path: str | None) -> str:
    # Only local paths, so the login form cannot redirect to another site.
    if path and path.startswith("/") and not path.startswith("//"):
        return path

    return "/"
