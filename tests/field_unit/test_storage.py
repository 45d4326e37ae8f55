"""Encryption at rest of the tablet's database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from field_unit.crypto import ColumnCipher, SealedValueError
from field_unit.incidents import open_incident
from field_unit.models import Incident, db


def test_cipher_round_trip() -> None:
    cipher = ColumnCipher(b"k" * 32)
    assert cipher.open(cipher.seal({"a": "花子"}, "t.c"), "t.c") == {"a": "花子"}


def test_cipher_rejects_other_column() -> None:
    cipher = ColumnCipher(b"k" * 32)
    with pytest.raises(SealedValueError):
        cipher.open(cipher.seal("x", "incidents.summary"), "incidents.certificate")


def test_cipher_rejects_other_key() -> None:
    sealed = ColumnCipher(b"k" * 32).seal("x", "t.c")
    with pytest.raises(SealedValueError):
        ColumnCipher(b"j" * 32).open(sealed, "t.c")


def test_summary_not_in_database_file(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    incident.summary = {"patient": {"family_name": "暗号花子"}, "grant_id": "g"}
    db.session.commit()

    path = Path(ctx.instance_path) / "field_unit.sqlite3"
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes() if path.with_name(path.name + "-wal").exists() else b"")
    assert "暗号花子".encode() not in raw
    assert "胸痛".encode() not in raw


def test_sealed_columns_read_back(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    incident.summary = {"grant_id": "g-1"}
    db.session.commit()
    db.session.expire_all()

    assert db.session.get(Incident, incident.id).summary == {"grant_id": "g-1"}


def test_key_file_outside_database(ctx) -> None:
    key_path = Path(ctx.config["KEY_FILE"])
    assert key_path.stat().st_mode & 0o077 == 0
    assert key_path.read_bytes() not in (Path(ctx.instance_path) / "field_unit.sqlite3").read_bytes()


def test_stored_value_is_sealed(ctx) -> None:
    incident = open_incident("隊", "腹痛")
    connection = sqlite3.connect(Path(ctx.instance_path) / "field_unit.sqlite3")
    try:
        (stored,) = connection.execute("SELECT chief_complaint FROM incidents WHERE id = ?", (incident.id,)).fetchone()
    finally:
        connection.close()

    assert stored.startswith("v1:")
