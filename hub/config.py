"""Hub settings: built-in defaults, then ``HUB_*`` environment variables, then a test mapping.

Settings (environment variable → key):

- ``HUB_DATABASE_URL`` → ``SQLALCHEMY_DATABASE_URI``: SQLite file under the instance
  folder by default; ``postgresql+psycopg://...`` for deployments.
- ``HUB_TRUST_DIR`` → ``TRUST_DIR``: folder of trusted root certificates for
  利用者証明用 certificates. Required: the hub refuses to start without it.
- ``HUB_GRANT_MINUTES`` → ``GRANT_MINUTES``: how long a consent grant lasts (default 120).
- ``HUB_AUTO_MIGRATE`` → ``AUTO_MIGRATE``: run the Alembic migrations at start-up
  (default 1). Set 0 where a deployment migrates with ``python -m hub migrate``.
- ``HUB_CRL_DIR`` → ``CRL_DIR``: folder of certificate revocation lists (DER or PEM)
  issued by the trusted roots; without it revocation is not checked.
- ``HUB_RULES_FILE`` → ``RULES_FILE``: 併用禁忌 rule table (docs/rules-format.md);
  the curated ``hub/rules/contraindications.csv`` by default.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable
from typing import Any

from flask import Flask


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    instance = Path(app.instance_path)
    app.config.from_mapping(
        # A transfer packet is a few kilobytes; nothing legitimate comes near 1 MiB.
        MAX_CONTENT_LENGTH=1024 * 1024,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'hub.sqlite3'}",
        TRUST_DIR=None,
        GRANT_MINUTES=120,
        AUTO_MIGRATE=True,
        CRL_DIR=None,
        RULES_FILE=str(Path(__file__).resolve().parent / "rules" / "contraindications.csv"),
        JSON_AS_ASCII=False,
    )

    _maybe_set(app, "HUB_DATABASE_URL", "SQLALCHEMY_DATABASE_URI", str)
    _maybe_set(app, "HUB_TRUST_DIR", "TRUST_DIR", str)
    _maybe_set(app, "HUB_GRANT_MINUTES", "GRANT_MINUTES", int)
    _maybe_set(app, "HUB_AUTO_MIGRATE", "AUTO_MIGRATE", lambda value: value not in ("0", "false", "no"))
    _maybe_set(app, "HUB_CRL_DIR", "CRL_DIR", str)
    _maybe_set(app, "HUB_RULES_FILE", "RULES_FILE", str)

    if test_config:
        app.config.update(test_config)

    if not app.config["TRUST_DIR"]:
        raise RuntimeError("HUB_TRUST_DIR is not set: point it at the folder of trusted JPKI root certificates")


def _maybe_set(app: Flask, env_name: str, key: str, coerce: Callable[[str], Any]) -> None:
    value = os.environ.get(env_name)
    if value is not None:
        app.config[key] = coerce(value)
