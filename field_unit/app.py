"""Application factory of the field unit (the ambulance tablet app).

Screens are Japanese and served on loopback to the tablet's own browser; the
``/api`` routes carry the same actions as JSON for scripts and tests.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
import sqlalchemy
from sqlalchemy import event

from field_unit import config
from field_unit.crypto import EXTENSION_KEY, ColumnCipher, load_or_create_key
from field_unit.models import db, sqlite_durability

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance = os.environ.get("FIELD_INSTANCE_DIR") or str(Path.cwd() / "var" / "field_unit")
    app = Flask(__name__, instance_path=instance)
    os.makedirs(app.instance_path, exist_ok=True)
    config.configure(app.config, Path(app.instance_path), test_config)

    app.extensions[EXTENSION_KEY] = ColumnCipher(load_or_create_key(Path(app.config["KEY_FILE"])))
    app.secret_key = load_or_create_key(Path(app.config["KEY_FILE"]).with_name("session.key"))
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True)

    db.init_app(app)
    with app.app_context():
        event.listen(db.engine, "connect", sqlite_durability)
        db.create_all()
        _add_missing_columns()

    from field_unit.api import api
    from field_unit.screens import screens

    app.register_blueprint(screens)
    app.register_blueprint(api)
    _register_template_helpers(app)
    _register_error_pages(app)

    if app.config["SCHEDULER"]:
        from field_unit.sync import start_scheduler

        app.extensions["field_unit_scheduler"] = start_scheduler(app)
    return app


# Columns added after the first release: create_all() makes new tables only, so an
# existing tablet database gets these with ALTER TABLE (nullable, no data to move).
ADDED_COLUMNS = {"incidents": {"summary_request_id": "VARCHAR(64)"}}


def _add_missing_columns() -> None:
    inspector = sqlalchemy.inspect(db.engine)
    with db.engine.begin() as connection:
        for table, columns in ADDED_COLUMNS.items():
            present = {column["name"] for column in inspector.get_columns(table)}
            for name, sql_type in columns.items():
                if name not in present:
                    connection.execute(sqlalchemy.text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))
                    logger.info("added column %s.%s", table, name)


ERROR_PAGES = {
    400: ("入力を確認してください", "送信された内容を読み取れませんでした。画面を開き直して、もう一度操作してください。"),
    404: ("見つかりません", "指定された画面または事案はありません。事案一覧から選び直してください。"),
    405: ("この操作はできません", "この画面はボタンから操作してください。事案一覧から開き直してください。"),
    500: ("端末アプリの内部エラー", "処理中にエラーが起きました。入力した内容を確認し、もう一度操作してください。続く場合は電話・無線で病院へ連絡してください。"),
}


def _register_error_pages(app: Flask) -> None:
    """Japanese pages (or JSON for /api) instead of Flask's English defaults."""
    from flask import jsonify, render_template, request
    from werkzeug.exceptions import HTTPException, InternalServerError

    def answer(status: int) -> Any:
        title, message = ERROR_PAGES.get(status) or ERROR_PAGES[400 if status < 500 else 500]
        if request.path.startswith("/api/"):
            return jsonify({"error": message}), status
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return answer(exc.code or 500)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> Any:
        logger.error("unhandled error on %s %s", request.method, request.url_rule or "unknown route")
        return answer(500)


def _register_template_helpers(app: Flask) -> None:
    from datetime import timedelta, timezone

    jst = timezone(timedelta(hours=9), "JST")

    @app.template_filter("jst")
    def to_jst(value: Any, fmt: str = "%H:%M:%S") -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            from datetime import datetime

            value = datetime.fromisoformat(value)
        return value.astimezone(jst).strftime(fmt)
