"""The tablet's link to the hub: which URL and token to use, and the health probe."""

from __future__ import annotations

import requests
from flask import current_app

from field_unit.models import DeviceRegistration, db
from hub.client import HubClient
from hub.contract import API_PREFIX


class NotRegisteredError(RuntimeError):
    """The tablet has no device token: it must be registered with the hub first."""


def registration() -> tuple[str, str] | None:
    """Return (hub URL, device token) from the registration screen, else from the environment."""
    row = db.session.get(DeviceRegistration, 1)
    if row is not None and row.token:
        return row.hub_url, row.token

    token = current_app.config.get("DEVICE_TOKEN")
    if token:
        return current_app.config["HUB_URL"], token

    return None


def hub_client() -> HubClient:
    registered = registration()
    if registered is None:
        raise NotRegisteredError("the tablet is not registered with a hub")

    url, token = registered
    return HubClient(url, token, timeout=current_app.config["HUB_TIMEOUT_SECONDS"])


def hub_reachable(url: str, timeout: float) -> bool:
    """Probe the hub's unauthenticated health route; True only on HTTP 200."""
    try:
        return requests.get(f"{url.rstrip('/')}{API_PREFIX}/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False
