"""Tests of the PC/SC boundary with pyscard's scard functions replaced by fakes.

These tests need no pcscd. The real daemon is exercised in the integration test.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from smartcard import scard

from mynacard import pcsc
from mynacard.errors import (
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderUnavailableError,
    TransportError,
)

PACKAGE = Path(pcsc.__file__).parent
OK = scard.SCARD_S_SUCCESS


class FakeScard:
    """Replaces the scard calls used by mynacard.pcsc and records them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.context_result = OK
        self.readers: list[str] = ["Reader A", "Reader B"]
        self.list_result = OK
        self.connect_results: dict[str, int] = {}
        self.transmit_script: list[tuple[int, list[int]]] = []
        self.transmitted: list[bytes] = []
        self.released = 0
        self.disconnected = 0
        self.atr = list(bytes.fromhex("3BE000FF8131FE4514"))
        # Event states that successive SCardGetStatusChange calls report per reader.
        self.status_script: list[dict[str, int]] = []
        self.status_calls: list[int] = []
        for name in (
            "SCardEstablishContext",
            "SCardListReaders",
            "SCardConnect",
            "SCardTransmit",
            "SCardDisconnect",
            "SCardReleaseContext",
            "SCardStatus",
            "SCardGetStatusChange",
        ):
            monkeypatch.setattr(pcsc.scard, name, getattr(self, name))

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:  # noqa: N802 (pyscard's name)
        return self.context_result, 1

    def SCardListReaders(self, context: int, groups: list) -> tuple[int, list[str]]:  # noqa: N802
        return self.list_result, self.readers

    def SCardConnect(self, context: int, reader: str, share: int, protocols: int) -> tuple[int, int, int]:  # noqa: N802
        return self.connect_results.get(reader, OK), 7, scard.SCARD_PROTOCOL_T1

    def SCardTransmit(self, card: int, protocol: int, apdu: list[int]) -> tuple[int, list[int]]:  # noqa: N802
        self.transmitted.append(bytes(apdu))
        return self.transmit_script.pop(0)

    def SCardDisconnect(self, card: int, disposition: int) -> int:  # noqa: N802
        self.disconnected += 1
        return OK

    def SCardStatus(self, card: int) -> tuple[int, str, int, int, list[int]]:  # noqa: N802
        return OK, "Reader A", scard.SCARD_STATE_PRESENT, scard.SCARD_PROTOCOL_T1, self.atr

    def SCardGetStatusChange(  # noqa: N802
        self, context: int, timeout_ms: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[tuple[str, int, list[int]]]]:
        self.status_calls.append(timeout_ms)
        if not self.status_script:
            return scard.SCARD_E_TIMEOUT, []
        if timeout_ms:
            time.sleep(timeout_ms / 1000)  # SCardGetStatusChange blocks until a change or the timeout
        events = self.status_script[0] if timeout_ms == 0 else self.status_script.pop(0)
        if isinstance(events, int):
            return events, []
        return OK, [(name, events.get(name, scard.SCARD_STATE_EMPTY), self.atr) for name, _state in states]

    def SCardReleaseContext(self, context: int) -> int:  # noqa: N802
        self.released += 1
        return OK


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeScard:
    return FakeScard(monkeypatch)


def test_list_readers_names(fake: FakeScard) -> None:
    assert pcsc.list_readers() == ["Reader A", "Reader B"]
    assert fake.released == 1


def test_list_readers_none(fake: FakeScard) -> None:
    fake.list_result = scard.SCARD_E_NO_READERS_AVAILABLE

    assert pcsc.list_readers() == []


@pytest.mark.parametrize("code", [scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED])
def test_pcscd_down_reader_unavailable(fake: FakeScard, code: int) -> None:
    fake.context_result = code

    with pytest.raises(ReaderUnavailableError, match="pcscd"):
        pcsc.list_readers()


def test_context_exception_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(scope: int) -> tuple[int, int]:
        raise scard.error("SWIG failure")

    monkeypatch.setattr(pcsc.scard, "SCardEstablishContext", broken)

    with pytest.raises(ReaderUnavailableError) as caught:
        pcsc.list_readers()

    assert isinstance(caught.value.__cause__, scard.error)


def test_connect_no_readers(fake: FakeScard) -> None:
    fake.readers = []

    with pytest.raises(NoReaderError):
        pcsc.connect()
    assert fake.released == 1


def test_connect_unknown_reader(fake: FakeScard) -> None:
    with pytest.raises(NoReaderError, match="Reader C"):
        pcsc.connect("Reader C")


def test_connect_first_reader_with_card(fake: FakeScard) -> None:
    fake.connect_results["Reader A"] = scard.SCARD_E_NO_SMARTCARD

    connection = pcsc.connect()

    assert connection.reader == "Reader B"
    assert connection.protocol_name == "T=1"


def test_connect_no_card_anywhere(fake: FakeScard) -> None:
    fake.connect_results = {name: scard.SCARD_E_NO_SMARTCARD for name in fake.readers}

    with pytest.raises(NoCardError) as caught:
        pcsc.connect()

    assert isinstance(caught.value.__cause__, NoCardError)
    assert fake.released == 1


def test_connect_unresponsive_card(fake: FakeScard) -> None:
    fake.connect_results["Reader A"] = scard.SCARD_W_UNRESPONSIVE_CARD

    with pytest.raises(NoCardError) as caught:
        pcsc.connect("Reader A")

    assert "応答しません" in caught.value.user_message


def test_connect_sharing_violation(fake: FakeScard) -> None:
    fake.connect_results["Reader A"] = scard.SCARD_E_SHARING_VIOLATION

    with pytest.raises(ReaderUnavailableError):
        pcsc.connect("Reader A")


@pytest.mark.parametrize("code", [scard.SCARD_W_REMOVED_CARD, scard.SCARD_W_RESET_CARD])
def test_transmit_card_removed(fake: FakeScard, code: int) -> None:
    fake.transmit_script = [(code, [])]
    connection = pcsc.connect("Reader A")

    with pytest.raises(CardRemovedError):
        connection.transmit(bytes.fromhex("00A4040C0AD392F000260100000001"))


def test_transmit_exception_translated(fake: FakeScard, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(card: int, protocol: int, apdu: list[int]) -> tuple[int, list[int]]:
        raise scard.error("transmit failed")

    connection = pcsc.connect("Reader A")
    monkeypatch.setattr(pcsc.scard, "SCardTransmit", broken)

    with pytest.raises(TransportError) as caught:
        connection.transmit(b"\x00\xa4\x00\x00")

    assert isinstance(caught.value.__cause__, scard.error)


def test_transmit_other_failure(fake: FakeScard) -> None:
    fake.transmit_script = [(scard.SCARD_E_NOT_TRANSACTED, [])]
    connection = pcsc.connect("Reader A")

    with pytest.raises(TransportError):
        connection.transmit(b"\x00\xa4\x00\x00")


def test_transmit_splits_status_word(fake: FakeScard) -> None:
    fake.transmit_script = [(OK, [0x30, 0x82, 0x03, 0xCA, 0x90, 0x00])]
    connection = pcsc.connect("Reader A")

    assert connection.transmit(bytes.fromhex("00B0000004")) == (bytes.fromhex("308203CA"), 0x9000)


def test_transmit_t0_get_response(fake: FakeScard) -> None:
    fake.transmit_script = [(OK, [0x61, 0x04]), (OK, [1, 2, 3, 4, 0x90, 0x00])]
    connection = pcsc.connect("Reader A")

    data, sw = connection.transmit(bytes.fromhex("802A0080020102"))

    assert (data, sw) == (b"\x01\x02\x03\x04", 0x9000)
    assert fake.transmitted[1] == bytes.fromhex("00C0000004")


def test_transmit_t0_wrong_le_case4(fake: FakeScard) -> None:
    fake.transmit_script = [(OK, [0x6C, 0x10]), (OK, [0x42] * 16 + [0x90, 0x00])]
    connection = pcsc.connect("Reader A")

    connection.transmit(bytes.fromhex("802A008002010200"))

    assert fake.transmitted[1] == bytes.fromhex("802A008002010210")


def test_transmit_t0_wrong_le(fake: FakeScard) -> None:
    fake.transmit_script = [(OK, [0x6C, 0x20]), (OK, [0x41] * 32 + [0x90, 0x00])]
    connection = pcsc.connect("Reader A")

    data, sw = connection.transmit(bytes.fromhex("00B0000000"))

    assert (len(data), sw) == (32, 0x9000)
    assert fake.transmitted[1] == bytes.fromhex("00B0000020")


def test_close_releases_once(fake: FakeScard) -> None:
    connection = pcsc.connect("Reader A")

    connection.close()
    connection.close()

    assert (fake.disconnected, fake.released) == (1, 1)
    with pytest.raises(TransportError):
        connection.transmit(b"\x00\xa4\x00\x00")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_pcsc_imports_pyscard() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name == "smartcard" or name.startswith("smartcard.") for name in _imported_modules(path))
    )

    assert importers == ["pcsc.py"]


def test_number_files_named_only_by_card() -> None:
    """Only the constants' definition and the virtual card's file model may name the number files."""
    allowed = {"jpki.py", "virtual/files.py"}
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "TEXT_AP_EF_MY_NUMBER" in path.read_text(encoding="utf-8")
        or "VISUAL_AP_EF_MY_NUMBER_IMAGE" in path.read_text(encoding="utf-8")
    )

    assert set(users) <= allowed



# Removal, unplugging and sharing messages ------------------------------------------------


def test_transmit_removed_contact_message(fake: FakeScard) -> None:
    fake.transmit_script = [(scard.SCARD_W_REMOVED_CARD, [])]
    connection = pcsc.connect("Reader A")

    with pytest.raises(CardRemovedError) as caught:
        connection.transmit(bytes.fromhex("00B0000004"))

    assert connection.is_contactless is False
    assert "抜かれました" in caught.value.user_message


def test_transmit_removed_contactless_message(fake: FakeScard) -> None:
    fake.atr = list(bytes.fromhex("3B888001000005E0B381A1007F"))
    fake.transmit_script = [(scard.SCARD_W_REMOVED_CARD, [])]
    connection = pcsc.connect("Reader A")

    with pytest.raises(CardRemovedError) as caught:
        connection.transmit(bytes.fromhex("00B0000004"))

    assert connection.is_contactless is True
    assert "離れました" in caught.value.user_message


@pytest.mark.parametrize("code", [scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_E_UNKNOWN_READER])
def test_transmit_reader_unplugged(fake: FakeScard, code: int) -> None:
    fake.transmit_script = [(code, [])]
    connection = pcsc.connect("Reader A")

    with pytest.raises(ReaderUnavailableError) as caught:
        connection.transmit(bytes.fromhex("00B0000004"))

    assert "外れました" in caught.value.user_message


def test_sharing_violation_message(fake: FakeScard) -> None:
    fake.connect_results["Reader A"] = scard.SCARD_E_SHARING_VIOLATION

    with pytest.raises(ReaderUnavailableError) as caught:
        pcsc.connect("Reader A")

    assert "他のアプリが使用中" in caught.value.user_message


def test_connection_reports_atr(fake: FakeScard) -> None:
    connection = pcsc.connect("Reader A")

    assert connection.atr == bytes.fromhex("3BE000FF8131FE4514")


# Waiting for a card and for its removal ----------------------------------------------------


def test_wait_for_card_present_now(fake: FakeScard) -> None:
    fake.status_script = [{"Reader B": scard.SCARD_STATE_PRESENT}]

    assert pcsc.wait_for_card(timeout=1.0) == "Reader B"


def test_wait_for_card_after_change(fake: FakeScard) -> None:
    fake.status_script = [{}, {"Reader A": scard.SCARD_STATE_PRESENT}]

    assert pcsc.wait_for_card("Reader A", timeout=5.0, poll=0.01) == "Reader A"


def test_wait_for_card_ignores_mute(fake: FakeScard) -> None:
    fake.status_script = [{"Reader A": scard.SCARD_STATE_PRESENT | scard.SCARD_STATE_MUTE}]

    with pytest.raises(NoCardError, match="within"):
        pcsc.wait_for_card("Reader A", timeout=0.05, poll=0.01)


def test_wait_for_card_timeout(fake: FakeScard) -> None:
    with pytest.raises(NoCardError, match="within 0.05 s"):
        pcsc.wait_for_card(timeout=0.05, poll=0.01)

    assert fake.released == 1


def test_wait_for_card_unknown_reader(fake: FakeScard) -> None:
    with pytest.raises(NoReaderError):
        pcsc.wait_for_card("Reader Z", timeout=0.05)


def test_wait_for_removal_done(fake: FakeScard) -> None:
    fake.status_script = [{"Reader A": scard.SCARD_STATE_PRESENT}, {}]

    assert pcsc.wait_for_removal("Reader A", timeout=5.0, poll=0.01) is True


def test_wait_for_removal_timeout(fake: FakeScard) -> None:
    fake.status_script = [{"Reader A": scard.SCARD_STATE_PRESENT}] * 1000

    assert pcsc.wait_for_removal("Reader A", timeout=0.05, poll=0.01) is False


def test_wait_for_removal_reader_unplugged(fake: FakeScard) -> None:
    fake.status_script = [scard.SCARD_E_READER_UNAVAILABLE]

    assert pcsc.wait_for_removal("Reader A", timeout=1.0) is True


def test_card_present(fake: FakeScard) -> None:
    fake.status_script = [{"Reader A": scard.SCARD_STATE_PRESENT}]

    assert pcsc.card_present("Reader A") is True
