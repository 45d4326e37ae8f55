"""Every setting of the hospital portal, read from the environment in one place.

Each setting names its environment variable, its config key, how the text is
converted and its default. ``PORTAL_HUB_TOKEN`` has no default: the hub issues
it to the hospital and startup fails without it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    env: str
    key: str
    convert: Callable[[str], Any]
    default: Any


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


SETTINGS = (
    Setting("PORTAL_HUB_URL", "HUB_URL", str, "http://127.0.0.1:8710"),
    Setting("PORTAL_HUB_TOKEN", "HUB_TOKEN", str, None),
    Setting("PORTAL_HOSPITAL_NAME", "HOSPITAL_NAME", str, "医療機関"),
    # The hub's code of this hospital. Staff accounts carry a hospital code and
    # only accounts of this code can sign in.
    Setting("PORTAL_HOSPITAL_CODE", "HOSPITAL_CODE", str, None),
    Setting("PORTAL_DATABASE_URL", "SQLALCHEMY_DATABASE_URI", str, None),
    Setting("PORTAL_INSTANCE_DIR", "INSTANCE_DIR", str, None),
    Setting("PORTAL_SECRET_KEY", "SECRET_KEY", str, None),
    # Minimum seconds between two inbox fetches from the hub, however many screens poll the portal.
    Setting("PORTAL_HUB_POLL_SECONDS", "HUB_POLL_SECONDS", float, 2.0),
    # Seconds between two polls of the portal by each open inbox screen.
    Setting("PORTAL_SCREEN_POLL_SECONDS", "SCREEN_POLL_SECONDS", float, 3.0),
    # Whether /api/inbox answers loopback callers without a staff session. Off by
    # default: any local program could read summaries; the demo stack turns it on.
    Setting("PORTAL_API_LOOPBACK_OPEN", "API_LOOPBACK_OPEN", _flag, False),
    Setting("PORTAL_SESSION_HOURS", "SESSION_HOURS", float, 14.0),
)


def load_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the config mapping from the environment, with defaults for unset variables."""
    source = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.env)
        config[setting.key] = setting.convert(raw) if raw not in (None, "") else setting.default

    return config


def ephemeral_secret_key() -> str:
    return secrets.token_hex(32)
