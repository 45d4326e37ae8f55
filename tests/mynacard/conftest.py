"""Fixtures for the card-core tests: a development PKI, issued virtual cards and fake connections."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import pytest

from mynacard.apdu import ApduProtocol
from mynacard.devpki import DevRoot, IssuedCard, ensure_root, issue_card
from mynacard.jpki import JpkiSession
from mynacard.persona import CardPersona
from mynacard.transport import Connection, VirtualConnection
from mynacard.virtual.card import VirtualCard

PERSONA_PIN = "4821"
JLIS_ROOTS = Path("/work/shared/data/jpki")


def make_persona(**changes: object) -> CardPersona:
    """Return the test persona (synthetic holder), with fields replaced by ``changes``."""
    values: dict[str, object] = {
        "persona_id": "persona-001",
        "family_name": "黒桐",
        "given_name": "幹也",
        "birth_date": date(1980, 2, 17),
        "sex": "1",
        "address": "東京都清瀬市観布子南１２－７－２０２",
        "auth_pin": PERSONA_PIN,
    }
    values.update(changes)
    return CardPersona(**values)  # type: ignore[arg-type]


class RecordingConnection(Connection):
    """Passes commands to another connection and records the exact bytes sent."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()

    @property
    def sent_hex(self) -> list[str]:
        return [apdu.hex().upper() for apdu in self.sent]


class ScriptedConnection(Connection):
    """Returns the next (data, SW) pair of a script for each command and records what was sent."""

    def __init__(self, responses: Iterable[tuple[bytes, int]]) -> None:
        self.responses = list(responses)
        self.sent: list[bytes] = []
        self.closed = False

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent.append(apdu)
        if not self.responses:
            raise AssertionError(f"unexpected command {apdu.hex().upper()}")
        return self.responses.pop(0)

    def close(self) -> None:
        self.closed = True

    @property
    def sent_hex(self) -> list[str]:
        return [apdu.hex().upper() for apdu in self.sent]


@pytest.fixture(scope="session")
def dev_root(tmp_path_factory: pytest.TempPathFactory) -> DevRoot:
    return ensure_root(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def issued_template(dev_root: DevRoot, tmp_path_factory: pytest.TempPathFactory) -> IssuedCard:
    return issue_card(dev_root, make_persona(), tmp_path_factory.mktemp("template") / "card")


@pytest.fixture
def card_dir(issued_template: IssuedCard, tmp_path: Path) -> Path:
    """A fresh copy of the issued card, so PIN counters and logs start clean in every test."""
    target = tmp_path / "card"
    shutil.copytree(issued_template.card_dir, target)
    return target


@pytest.fixture
def card(card_dir: Path) -> VirtualCard:
    return VirtualCard.from_dir(card_dir)


@pytest.fixture
def recording(card: VirtualCard) -> RecordingConnection:
    return RecordingConnection(VirtualConnection(card))


@pytest.fixture
def session(recording: RecordingConnection) -> JpkiSession:
    return JpkiSession(ApduProtocol(recording))


@pytest.fixture
def scripted() -> Callable[..., tuple[JpkiSession, ScriptedConnection]]:
    """Factory: ``scripted((data, sw), ...)`` returns a session over a ScriptedConnection."""

    def build(*responses: tuple[bytes, int]) -> tuple[JpkiSession, ScriptedConnection]:
        connection = ScriptedConnection(responses)
        return JpkiSession(ApduProtocol(connection)), connection

    return build


@pytest.fixture
def apdu(card: VirtualCard) -> Callable[[str], str]:
    """Send a hex APDU to the in-process card and return the full response as upper-case hex."""

    def send(hex_apdu: str) -> str:
        return card.transmit(bytes.fromhex(hex_apdu)).hex().upper()

    return send


@pytest.fixture
def persona_factory() -> Callable[..., CardPersona]:
    return make_persona


@pytest.fixture
def pin() -> str:
    """The auth PIN that the issued virtual card accepts."""
    return PERSONA_PIN
