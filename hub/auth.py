"""Bearer-token authentication of devices and hospital systems."""

from __future__ import annotations

import hashlib
import secrets

from flask import g, request

from hub.models import ApiClient, db
from hub.problems import forbidden, unauthorized


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def current_client(*roles: str) -> ApiClient:
    """Return the calling client, checking its token and that its role is one of ``roles``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token or not token.isascii():
        raise unauthorized()

    client = db.session.execute(
        db.select(ApiClient).where(ApiClient.token_sha256 == token_digest(token))
    ).scalar_one_or_none()
    if client is None:
        raise unauthorized()

    if roles and client.role not in roles:
        raise forbidden()

    g.client = client
    return client
