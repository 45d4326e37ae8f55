"""Application factory and routes of the hospital portal."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, current_app, jsonify, render_template

from hub.client import HubClient, HubError

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        HUB_URL=os.environ.get("PORTAL_HUB_URL", "http://127.0.0.1:8710"),
        HUB_TOKEN=os.environ.get("PORTAL_HUB_TOKEN"),
        HOSPITAL_NAME=os.environ.get("PORTAL_HOSPITAL_NAME", "医療機関"),
    )
    if test_config:
        app.config.update(test_config)

    if not app.config["HUB_TOKEN"]:
        raise RuntimeError("PORTAL_HUB_TOKEN is not set: the hospital's system token issued by the hub")

    _register_routes(app)
    return app


def _hub() -> HubClient:
    return HubClient(current_app.config["HUB_URL"], current_app.config["HUB_TOKEN"])


def _register_routes(app: Flask) -> None:
    @app.get("/")
    def inbox_page() -> Any:
        transfers, error = _inbox_or_error()
        return render_template("inbox.html", transfers=transfers, error=error, hospital=current_app.config["HOSPITAL_NAME"])

    @app.get("/api/inbox")
    def inbox_api() -> Any:
        transfers, error = _inbox_or_error()
        if error:
            return jsonify({"error": error}), 502

        return jsonify({"transfers": transfers})


def _inbox_or_error() -> tuple[list[dict[str, Any]], str | None]:
    try:
        views = _hub().inbox()
    except HubError as exc:
        logger.warning("inbox fetch failed: %s", exc.code)
        return [], exc.user_message

    return [view.to_dict() for view in views], None
