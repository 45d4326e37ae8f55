"""Tests of card persona files."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from mynacard.persona import CardPersona


def test_persona_json_round_trip(persona_factory: Callable[..., CardPersona]) -> None:
    persona = persona_factory()

    assert CardPersona.from_json(persona.to_json()) == persona


def test_persona_json_unescaped(persona_factory: Callable[..., CardPersona]) -> None:
    text = persona_factory().to_json()

    assert "黒桐" in text
    assert json.loads(text)["birth_date"] == "1980-02-17"


def test_persona_save_load(tmp_path: Path, persona_factory: Callable[..., CardPersona]) -> None:
    persona = persona_factory()
    path = tmp_path / "persona.json"

    persona.save(path)

    assert CardPersona.load(path) == persona
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_persona_extra_keys_ignored(persona_factory: Callable[..., CardPersona]) -> None:
    data = persona_factory().to_dict() | {"insurance": {"insurer_number": "06130012"}}

    assert CardPersona.from_dict(data) == persona_factory()


def test_persona_missing_key(persona_factory: Callable[..., CardPersona]) -> None:
    data = persona_factory().to_dict()
    del data["auth_pin"]

    with pytest.raises(ValueError, match="auth_pin"):
        CardPersona.from_dict(data)


def test_persona_bad_birth_date(persona_factory: Callable[..., CardPersona]) -> None:
    data = persona_factory().to_dict() | {"birth_date": "S55.02.17"}

    with pytest.raises(ValueError, match="birth_date"):
        CardPersona.from_dict(data)


@pytest.mark.parametrize("bad_pin", ["123", "12345", "abcd", "１２３４", ""])
def test_persona_bad_pin(persona_factory: Callable[..., CardPersona], bad_pin: str) -> None:
    with pytest.raises(ValueError, match="auth_pin"):
        persona_factory(auth_pin=bad_pin)


def test_persona_bad_sex(persona_factory: Callable[..., CardPersona]) -> None:
    with pytest.raises(ValueError, match="sex"):
        persona_factory(sex="M")


def test_persona_repr_hides_pin(persona_factory: Callable[..., CardPersona]) -> None:
    persona = persona_factory(auth_pin="8642")

    assert "8642" not in repr(persona)


def test_persona_full_name(persona_factory: Callable[..., CardPersona]) -> None:
    assert persona_factory().full_name == "黒桐\u3000幹也"


def test_persona_from_json_not_object() -> None:
    with pytest.raises(ValueError):
        CardPersona.from_json("[]")


def test_persona_birth_date_type(persona_factory: Callable[..., CardPersona]) -> None:
    with pytest.raises(ValueError, match="birth_date"):
        persona_factory(birth_date="1980-02-17")
    assert persona_factory(birth_date=date(2001, 1, 1)).birth_date.year == 2001
