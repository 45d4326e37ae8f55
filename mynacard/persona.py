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
_SECURITY_CODE_PATTERN = re.compile(r"[0-9]{4}")
_SIGN_PASSWORD_PATTERN = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{6,16}")
_FIELDS = ("persona_id", "family_name", "given_name", "birth_date", "sex", "address", "auth_pin")


@dataclass
class CardPersona:
    """Holder data and the configured secrets of one virtual card.

    ``sex`` is a code from SEX_CODES. ``auth_pin`` is 4 ASCII digits. The optional
    fields are filled in by ``mynacard.devpki.issue_card`` when missing:
    ``sign_password`` (6 to 16 upper-case letters and digits), ``card_expiry`` (the
    date printed on the card), ``security_code`` (the 4 digits printed on the card that
    go into 照合番号B) and ``face_photo`` (path of an image for the card face, relative
    to the persona file or absolute; a synthetic face is drawn when it is None). The
    secrets are left out of ``repr`` so that they do not end up in logs.
    """

    persona_id: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    address: str
    auth_pin: str = field(repr=False)
    sign_password: str | None = field(default=None, repr=False)
    card_expiry: date | None = None
    security_code: str | None = field(default=None, repr=False)
    face_photo: str | None = None

    def __post_init__(self) -> None:
        if not self.persona_id:
            raise ValueError("persona_id must not be empty")
        if not isinstance(self.birth_date, date):
            raise ValueError(f"birth_date must be a date, got {type(self.birth_date).__name__}")
        if self.sex not in SEX_CODES:
            raise ValueError(f"sex must be one of {sorted(SEX_CODES)}, got {self.sex!r}")
        if not isinstance(self.auth_pin, str) or not _PIN_PATTERN.fullmatch(self.auth_pin):
            raise ValueError(f"auth_pin of persona {self.persona_id!r} must be 4 ASCII digits")
        if self.sign_password is not None and not _SIGN_PASSWORD_PATTERN.fullmatch(self.sign_password):
            raise ValueError(
                f"sign_password of persona {self.persona_id!r} must be 6 to 16 upper-case letters and digits"
                " with at least one of each"
            )
        if self.security_code is not None and not _SECURITY_CODE_PATTERN.fullmatch(self.security_code):
            raise ValueError(f"security_code of persona {self.persona_id!r} must be 4 ASCII digits")
        if self.card_expiry is not None and not isinstance(self.card_expiry, date):
            raise ValueError(f"card_expiry must be a date, got {type(self.card_expiry).__name__}")

    @property
    def full_name(self) -> str:
        """Family and given name separated by U+3000, as the card's text AP stores the name."""
        return f"{self.family_name}\u3000{self.given_name}"

    def to_dict(self) -> dict[str, Any]:
        """Return the persona as a JSON-ready dict with dates in ISO format; unset optional fields are left out."""
        data: dict[str, Any] = {
            "persona_id": self.persona_id,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "address": self.address,
            "auth_pin": self.auth_pin,
        }
        optional = {
            "sign_password": self.sign_password,
            "card_expiry": self.card_expiry.isoformat() if self.card_expiry else None,
            "security_code": self.security_code,
            "face_photo": self.face_photo,
        }
        data.update({name: value for name, value in optional.items() if value is not None})
        return data

    def to_json(self) -> str:
        """Serialise to indented UTF-8 JSON text (Japanese characters unescaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardPersona:
        """Build a persona from a dict; raise ValueError naming the first missing or invalid key."""
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(f"persona is missing keys: {', '.join(missing)}")
        birth_date = _parse_date(data, "birth_date")
        card_expiry = _parse_date(data, "card_expiry") if data.get("card_expiry") is not None else None
        return cls(
            persona_id=str(data["persona_id"]),
            family_name=str(data["family_name"]),
            given_name=str(data["given_name"]),
            birth_date=birth_date,
            sex=str(data["sex"]),
            address=str(data["address"]),
            auth_pin=str(data["auth_pin"]),
            sign_password=_optional_str(data, "sign_password"),
            card_expiry=card_expiry,
            security_code=_optional_str(data, "security_code"),
            face_photo=_optional_str(data, "face_photo"),
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


def _parse_date(data: dict[str, Any], key: str) -> date:
    try:
        return date.fromisoformat(str(data[key]))
    except ValueError as exc:
        raise ValueError(f"{key} must be YYYY-MM-DD, got {data[key]!r}") from exc


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)
