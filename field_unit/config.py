"""Settings of the field unit: every environment variable it reads, in one place.

Order: built-in defaults, then ``FIELD_*`` environment variables, then the test mapping
given to ``create_app``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

# (environment variable, config key, coercer, default)
_SETTINGS: list[tuple[str, str, Callable[[str], Any], Any]] = [
    ("FIELD_HUB_URL", "HUB_URL", str, "http://127.0.0.1:8710"),
    ("FIELD_DEVICE_TOKEN", "DEVICE_TOKEN", str, None),
    ("FIELD_UNIT_NAME", "UNIT_NAME", str, "救急隊"),
    ("FIELD_READER", "READER", str, None),
    # A virtual card folder read in-process instead of PC/SC (tests and benchmarks only).
    ("FIELD_VIRTUAL_CARD_DIR", "VIRTUAL_CARD_DIR", str, None),
    # The card core's latency preset for that card ("contact" or "contactless"); unset means no delay.
    # The test mapping may give a mynacard LatencyModel instead, such as one that counts its sleeps.
    ("FIELD_VIRTUAL_CARD_LATENCY", "VIRTUAL_CARD_LATENCY", str, None),
    ("FIELD_KEY_FILE", "KEY_FILE", str, None),
    # Trust-store folder whose card_ca_keys.json pins the J-LIS CA keys of the card-face check.
    ("FIELD_TRUST_DIR", "TRUST_DIR", str, None),
    # Seconds a verified card face (name, photo) stays in memory for the crew that read it.
    ("FIELD_CARD_FACE_SECONDS", "CARD_FACE_SECONDS", int, 600),
    ("FIELD_RETENTION_MINUTES", "RETENTION_MINUTES", int, 60),
    ("FIELD_LOCK_SECONDS", "LOCK_SECONDS", int, 120),
    ("FIELD_SYNC_SECONDS", "SYNC_SECONDS", float, 2.0),
    ("FIELD_BACKOFF_MAX_SECONDS", "BACKOFF_MAX_SECONDS", float, 60.0),
    ("FIELD_HUB_TIMEOUT_SECONDS", "HUB_TIMEOUT_SECONDS", float, 5.0),
    # Bearer token that lets local automation (scripts/stack.py, tests) call /api without a crew session.
    ("FIELD_API_TOKEN", "API_TOKEN", str, None),
    ("FIELD_SCHEDULER", "SCHEDULER", lambda value: value == "1", False),
]


def configure(config: dict[str, Any], instance_path: Path, test_config: dict[str, Any] | None) -> None:
    """Fill ``config`` from defaults, the environment and ``test_config``."""
    for variable, key, coerce, default in _SETTINGS:
        raw = os.environ.get(variable)
        config[key] = coerce(raw) if raw not in (None, "") else default

    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'field_unit.sqlite3'}"
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    if test_config:
        config.update(test_config)

    if not config["KEY_FILE"]:
        # Kept beside, never inside, the database: a copied database file alone reveals nothing.
        config["KEY_FILE"] = str(instance_path / "keys" / "data.key")
