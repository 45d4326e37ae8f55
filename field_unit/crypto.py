"""Encryption at rest of the sensitive columns of the tablet's SQLite database.

SQLCipher is not available here, so the columns that carry patient data (summary,
certificate, vitals, packets, outbox payloads, the device token) are sealed one by one
with AES-256-GCM. The key is a random 32-byte file outside the database (mode 600);
on a real tablet it would sit in the OS key store. Deleting the key makes every sealed
value unreadable. Each value is bound to its column name as associated data, so a
ciphertext copied into another column fails to open.

Left in clear text: ids, timestamps, timeline keys, statuses, hospital codes and the
outbox order, which the app needs to query and which carry no patient data.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "v1:"
NONCE_BYTES = 12
EXTENSION_KEY = "field_unit_cipher"


class SealedValueError(RuntimeError):
    """A sealed column could not be opened: wrong key, or the value was altered."""


class ColumnCipher:
    """AES-GCM sealing of JSON values under one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError(f"the data key must be 32 bytes, got {len(key)}")

        self._aead = AESGCM(key)

    def seal(self, value: Any, label: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sealed = self._aead.encrypt(nonce, plaintext, label.encode("ascii"))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, text: str, label: str) -> Any:
        if not text.startswith(PREFIX):
            raise SealedValueError(f"column {label} holds a value that is not sealed")

        raw = base64.b64decode(text[len(PREFIX) :])
        try:
            plaintext = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label.encode("ascii"))
        except InvalidTag as exc:
            raise SealedValueError(f"column {label} failed authentication (wrong key or altered)") from exc

        return json.loads(plaintext)


def load_or_create_key(path: Path) -> bytes:
    """Read the data key, or create it with mode 600 when the file does not exist."""
    if path.exists():
        return path.read_bytes()

    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = AESGCM.generate_key(bit_length=256)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())

    return key


def current_cipher() -> ColumnCipher:
    return current_app.extensions[EXTENSION_KEY]


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored AES-GCM-sealed under the app's data key; None stays NULL."""

    impl = Text
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None

        return current_cipher().seal(value, self.label)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None

        return current_cipher().open(value, self.label)
