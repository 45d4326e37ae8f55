"""Card personas: the holder data that a virtual My Number Card is built from.

Persona files are test fixtures. ``auth_pin`` is the PIN that the virtual card is
configured to accept, never a PIN entered by a real person. Other parts of the project
may keep more fields (insurance, history) in the same JSON file. ``from_json`` ignores
keys it does not know, so such a file loads as a ``CardPersona``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

# JIS X 0303 sex codes as the card's text AP stores them: 0 unknown, 1 male,
# 2 female, 9 not applicable. The certificate SAN uses 3 for unknown, also accepted.
SEX_CODES = frozenset({"0", "1", "2", "3", "9"})

_PIN_PATTERN = re.compile(r"[0-9]{4}")
_FIELDS = ("persona_id", "family_name", "given_name", "birth_date", "sex", "address", "auth_pin")


@dataclass
class CardPersona:
    """Holder data and the configured auth PIN of one virtual card.

    ``sex`` is a code from SEX_CODES. ``auth_pin`` is 4 ASCII digits and is left out
    of ``repr`` so that it does not end up in logs.
    """

    persona_id: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    address: str
    auth_pin: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.persona_id:
            raise ValueError("persona_id must not be empty")
        if not isinstance(self.birth_date, date):
            raise ValueError(f"birth_date must be a date, got {type(self.birth_date).__name__}")
        if self.sex not in SEX_CODES:
            raise ValueError(f"sex must be one of {sorted(SEX_CODES)}, got {self.sex!r}")
        if not isinstance(self.auth_pin, str) or not _PIN_PATTERN.fullmatch(self.auth_pin):
            raise ValueError(f"auth_pin of persona {self.persona_id!r} must be 4 ASCII digits")

    @property
    def full_name(self) -> str:
        """Family and given name separated by U+3000, as the card's text AP stores the name."""
        return f"{self.family_name}\u3000{self.given_name}"

    def to_dict(self) -> dict[str, Any]:
        """Return the persona as a JSON-ready dict with the birth date in ISO format."""
        return {
            "persona_id": self.persona_id,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "address": self.address,
            "auth_pin": self.auth_pin,
        }

    def to_json(self) -> str:
        """Serialise to indented UTF-8 JSON text (Japanese characters unescaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardPersona:
        """Build a persona from a dict; raise ValueError naming the first missing or invalid key."""
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(f"persona is missing keys: {', '.join(missing)}")
        try:
            birth_date = date.fromisoformat(str(data["birth_date"]))
        except ValueError as exc:
            raise ValueError(f"birth_date must be YYYY-MM-DD, got {data['birth_date']!r}") from exc
        return cls(
            persona_id=str(data["persona_id"]),
            family_name=str(data["family_name"]),
            given_name=str(data["given_name"]),
            birth_date=birth_date,
            sex=str(data["sex"]),
            address=str(data["address"]),
            auth_pin=str(data["auth_pin"]),
        )

    @classmethod
    def from_json(cls, text: str) -> CardPersona:
        """Parse JSON text written by ``to_json`` (extra keys are ignored)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("persona JSON must be an object")
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> CardPersona:
        """Read a persona file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def save(self, path: str | Path) -> None:
        """Write the persona file atomically, readable by the owner only because it contains the PIN."""
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(self.to_json(), encoding="utf-8")
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
