"""Application factory of the hospital portal: settings, database, blueprints, error pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template

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


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error: Any) -> Any:
        return render_template("message.html", title="見つかりません", message="お探しのページまたは搬送連絡は見つかりません。"), 404

    @app.errorhandler(403)
    def forbidden(error: Any) -> Any:
        message = getattr(error, "description", None) or "この操作を行う権限がありません。"
        return render_template("message.html", title="権限がありません", message=message), 403

    @app.errorhandler(400)
    def bad_request(error: Any) -> Any:
        message = getattr(error, "description", None) or "入力内容を確認してください。"
        return render_template("message.html", title="入力エラー", message=message), 400
