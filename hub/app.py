"""Application factory of the hub."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from werkzeug.exceptions import HTTPException

from hub import api, api_access, api_records, config, openapi
from hub.database import upgrade_schema
from hub.models import db
from hub.problems import ApiProblem
from hub.statistics.views import bp as statistics_bp

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance = os.environ.get("HUB_INSTANCE_DIR") or str(Path.cwd() / "var" / "hub")
    app = Flask(__name__, instance_path=instance)
    os.makedirs(app.instance_path, exist_ok=True)
    config.configure(app, test_config)

    db.init_app(app)
    with app.app_context():
        _enable_sqlite_wal()
        if app.config["AUTO_MIGRATE"]:
            upgrade_schema(db.engine)

    app.register_blueprint(api.bp)
    app.register_blueprint(api_access.bp)
    app.register_blueprint(api_records.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(statistics_bp)
    _register_error_handlers(app)
    app.before_request(_reject_nul_characters)
    return app


def _enable_sqlite_wal() -> None:
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _set_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def _reject_nul_characters() -> None:
    """Refuse U+0000 anywhere in the path, query or JSON body, and absurdly deep JSON.

    No legitimate value contains U+0000, and PostgreSQL text columns cannot store
    it, so letting it through would end in a server error instead of a 400.
    """
    try:
        body = request.get_json(silent=True) if request.is_json else None
        body_has_nul = _holds_nul(body)
    except RecursionError as exc:
        raise ApiProblem(400, "invalid_request", "送信内容の入れ子が深すぎます。") from exc

    query = request.args.items(multi=True)
    if "\x00" in request.path or any("\x00" in key + value for key, value in query) or body_has_nul:
        raise ApiProblem(400, "invalid_request", "送信内容に使用できない文字 (NUL) が含まれています。")


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value

    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())

    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)

    return False


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _problem(error: ApiProblem) -> Any:
        if error.status >= 500:
            logger.error("request failed: %s", error)
        return error.to_response()

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        status = error.code or 500
        return ApiProblem(status, f"http_{status}", "要求を処理できませんでした。", error.name).to_response()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        logger.exception("unexpected error while handling a request")
        return ApiProblem(500, "internal_error", "ハブ内部でエラーが発生しました。時間をおいて再度お試しください。").to_response()
