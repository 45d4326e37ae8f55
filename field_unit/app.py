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

    from field_unit.api import api
    from field_unit.screens import screens

    app.register_blueprint(screens)
    app.register_blueprint(api)
    _register_template_helpers(app)

    if app.config["SCHEDULER"]:
        from field_unit.sync import start_scheduler

        app.extensions["field_unit_scheduler"] = start_scheduler(app)
    return app


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
