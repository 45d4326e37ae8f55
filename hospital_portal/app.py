"""Application factory of the hospital portal: settings, database, blueprints, error pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from hospital_portal.config import ephemeral_secret_key, load_settings
from hospital_portal.inbox import init_inbox
from hospital_portal.models import db
from hospital_portal.trends import clock_time
from hospital_portal.logsafe import portal_logger

logger = portal_logger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the portal app: defaults and environment first, then ``test_config``.

    :raises RuntimeError: when ``PORTAL_HUB_TOKEN`` (the hospital's token issued by the hub) is missing
    """
    app = Flask(__name__)
    app.config.from_mapping(load_settings())
    if test_config:
        app.config.update(test_config)

    if not app.config["HUB_TOKEN"]:
        raise RuntimeError("PORTAL_HUB_TOKEN is not set: the hospital's system token issued by the hub")

    _configure_storage(app)
    _configure_sessions(app)

    db.init_app(app)
    with app.app_context():
        db.create_all()

    init_inbox(app)
    app.jinja_env.filters["clock"] = _clock
    _register_blueprints(app)
    _register_error_pages(app)
    return app


def _clock(value: Any) -> str:
    """Format a datetime or ISO 8601 text as HH:MM in Japan time, for the templates."""
    if value is None:
        return ""

    return clock_time(value if isinstance(value, str) else value.isoformat())


def _configure_storage(app: Flask) -> None:
    # Like the hub, default to var/ under the working directory, which git ignores.
    instance_dir = Path(app.config["INSTANCE_DIR"] or Path.cwd() / "var" / "portal")
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        instance_dir.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_dir / 'portal.sqlite3'}"

    app.config["PORTAL_INSTANCE_DIR"] = str(instance_dir)


def _configure_sessions(app: Flask) -> None:
    if not app.config["SECRET_KEY"]:
        # Without a configured key, sessions last until the process restarts.
        logger.warning("PORTAL_SECRET_KEY is not set: using a random key, so staff sign in again after a restart")
        app.config["SECRET_KEY"] = ephemeral_secret_key()

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="portal_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["SESSION_HOURS"]),
    )


def _register_blueprints(app: Flask) -> None:
    from hospital_portal.auth import bp as auth_bp
    from hospital_portal.views import bp as views_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(views_bp)


# Japanese titles and messages for the HTTP errors staff can meet; others fall back to a generic page.
_ERROR_PAGES = {
    400: ("入力エラー", "入力内容を確認してください。"),
    403: ("権限がありません", "この操作を行う権限がありません。"),
    404: ("見つかりません", "お探しのページまたは搬送連絡は見つかりません。"),
    405: ("この操作はできません", "このページはこの方法では開けません。画面のボタンから操作してください。"),
    413: ("入力が大きすぎます", "送信した内容が大きすぎます。内容を短くしてください。"),
    500: ("システムエラー", "システムで問題が起きました。少し待ってからもう一度操作してください。続く場合は管理者に連絡してください。"),
}
_OTHER_ERROR = ("エラー", "この操作は完了しませんでした。受信箱へ戻ってから、もう一度操作してください。")


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return _error_response(error.code or 500, _custom_description(error))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        # Log the traceback for operators; staff get a Japanese page instead of Werkzeug's English one.
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(500, None)


def _custom_description(error: HTTPException) -> str | None:
    """Return the Japanese message a view passed to abort(), or None for Werkzeug's English default."""
    default = type(error).description
    if error.description and error.description != default and not isinstance(error, InternalServerError):
        return error.description

    return None


def _error_response(code: int, message: str | None) -> Any:
    title, default_message = _ERROR_PAGES.get(code, _OTHER_ERROR)
    text = message or default_message
    if request.path.startswith("/api/") or request.path == "/inbox/feed":
        return jsonify({"error": text}), code

    return render_template("message.html", title=title, message=text), code
