"""PC/SC transport through pyscard. This is the only module of the project that imports pyscard.

It uses pyscard's low-level ``smartcard.scard`` API so that every PC/SC result code
can be translated into a ``mynacard.errors`` type at this boundary. pyscard's own
exceptions are translated too and chained with ``raise ... from``. Besides connecting
and transmitting, it lists readers, waits for a card and detects its removal with
SCardGetStatusChange. Messages for the crew name the interface: a card is inserted
into a contact (T=1) reader but held over a contactless one.
"""

from __future__ import annotations

import logging
import time

from smartcard import scard
from smartcard.Exceptions import SmartcardException

from mynacard.errors import (
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderUnavailableError,
    TransportError,
)
from mynacard.atr import is_contactless_atr
from mynacard.transport import Connection, log_exchange, split_response

logger = logging.getLogger(__name__)

_UINT32 = 0xFFFFFFFF


def _code(value: int) -> int:
    """Normalise a PC/SC result code to unsigned 32 bits (pyscard reports both signs)."""
    return value & _UINT32


_SUCCESS = _code(scard.SCARD_S_SUCCESS)
_SERVICE_DOWN = {_code(scard.SCARD_E_NO_SERVICE), _code(scard.SCARD_E_SERVICE_STOPPED)}
_NO_READER = {_code(scard.SCARD_E_NO_READERS_AVAILABLE), _code(scard.SCARD_E_UNKNOWN_READER)}
_READER_BUSY_OR_GONE = {_code(scard.SCARD_E_SHARING_VIOLATION), _code(scard.SCARD_E_READER_UNAVAILABLE)}
_NO_CARD = {_code(scard.SCARD_E_NO_SMARTCARD), _code(scard.SCARD_W_REMOVED_CARD)}
_CARD_NOT_RESPONDING = {
    _code(scard.SCARD_W_UNRESPONSIVE_CARD),
    _code(scard.SCARD_W_UNPOWERED_CARD),
    _code(scard.SCARD_W_UNSUPPORTED_CARD),
    _code(scard.SCARD_E_PROTO_MISMATCH),
}
# During an exchange these mean that the card left the field or was reset by another
# program. Either way the selected AP and any verified PIN are gone.
_LOST_DURING_EXCHANGE = {
    _code(scard.SCARD_W_REMOVED_CARD),
    _code(scard.SCARD_W_RESET_CARD),
    _code(scard.SCARD_E_NO_SMARTCARD),
    _code(scard.SCARD_E_INVALID_HANDLE),
}

_SHARING_VIOLATION = _code(scard.SCARD_E_SHARING_VIOLATION)
_READER_GONE = {_code(scard.SCARD_E_READER_UNAVAILABLE), _code(scard.SCARD_E_UNKNOWN_READER)}
_TIMEOUT = _code(scard.SCARD_E_TIMEOUT)

SHARING_VIOLATION_MESSAGE = "カードリーダーを他のアプリが使用中です。他のアプリを終了してから、もう一度読み取ってください。"
READER_GONE_MESSAGE = "カードリーダーが外れました。リーダーを接続し直して、もう一度読み取ってください。"
REMOVED_CONTACT_MESSAGE = "読み取り中にカードが抜かれました。カードを差し込み直して、もう一度読み取ってください。"
REMOVED_CONTACTLESS_MESSAGE = (
    "読み取り中にカードがリーダーから離れました。読み取りが終わるまでカードをリーダーに置いたままにしてください。"
)
NO_CARD_CONTACTLESS_MESSAGE = "カードが見つかりません。マイナンバーカードをリーダーの上に置いてください。"

_SW1_MORE_DATA = 0x61
_SW1_WRONG_LE = 0x6C
_MAX_GET_RESPONSE = 16  # bound on chained GET RESPONSE commands for one T=0 exchange


def _describe(hresult: int) -> str:
    code = _code(hresult)
    try:
        text = scard.SCardGetErrorMessage(hresult)
    except (scard.error, TypeError, ValueError):
        text = "unknown PC/SC error"
    return f"{text} (0x{code:08X})"


def _raise_for_result(hresult: int, operation: str, reader: str | None = None) -> None:
    """Raise the mynacard error for a failed PC/SC call; return when it succeeded."""
    code = _code(hresult)
    if code == _SUCCESS:
        return
    where = f" on reader {reader!r}" if reader else ""
    message = f"{operation}{where} failed: {_describe(hresult)}"
    if code in _SERVICE_DOWN:
        raise ReaderUnavailableError(f"{message}; is pcscd running?")
    if code in _NO_READER and operation != "SCardTransmit":
        raise NoReaderError(message)
    if code == _SHARING_VIOLATION:
        raise ReaderUnavailableError(message, user_message=SHARING_VIOLATION_MESSAGE)
    if code in _READER_GONE:
        raise ReaderUnavailableError(message, user_message=READER_GONE_MESSAGE)
    if code in _READER_BUSY_OR_GONE:
        raise ReaderUnavailableError(message)
    if operation == "SCardTransmit" and code in _LOST_DURING_EXCHANGE:
        raise CardRemovedError(message)
    if code in _NO_CARD:
        raise NoCardError(message)
    if code in _CARD_NOT_RESPONDING:
        raise NoCardError(
            message,
            user_message="カードが応答しません。カードの向きと置き方を確認して、置き直してください。",
        )
    raise TransportError(message)


def _establish_context() -> int:
    try:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    except (scard.error, SmartcardException) as exc:
        raise ReaderUnavailableError(f"SCardEstablishContext failed: {exc}") from exc
    _raise_for_result(hresult, "SCardEstablishContext")
    return context


def _release_context(context: int) -> None:
    try:
        hresult = scard.SCardReleaseContext(context)
    except (scard.error, SmartcardException) as exc:
        logger.warning("SCardReleaseContext raised %s", exc)
        return
    if _code(hresult) != _SUCCESS:
        logger.warning("SCardReleaseContext failed: %s", _describe(hresult))


def _list_readers(context: int) -> list[str]:
    try:
        hresult, readers = scard.SCardListReaders(context, [])
    except (scard.error, SmartcardException) as exc:
        raise TransportError(f"SCardListReaders failed: {exc}") from exc
    if _code(hresult) == _code(scard.SCARD_E_NO_READERS_AVAILABLE):
        return []
    _raise_for_result(hresult, "SCardListReaders")
    return list(readers)


def list_readers() -> list[str]:
    """Return the names of the PC/SC readers; an empty list when none is connected."""
    context = _establish_context()
    try:
        return _list_readers(context)
    finally:
        _release_context(context)


def connect(reader: str | None = None) -> PcscConnection:
    """Connect to the card in ``reader``, or in the first reader that contains a card when None.

    Negotiates T=1 or T=0, whichever the card and reader offer. Raises NoReaderError
    when there is no reader (or no reader of that name), NoCardError when no reader
    contains a card, and ReaderUnavailableError when pcscd is not running.
    """
    context = _establish_context()
    try:
        readers = _list_readers(context)
        if not readers:
            raise NoReaderError("no PC/SC reader is connected")
        if reader is not None:
            if reader not in readers:
                raise NoReaderError(f"reader {reader!r} not found; readers: {', '.join(readers)}")
            return _connect_reader(context, reader)
        return _connect_first_card(context, readers)
    except BaseException:
        _release_context(context)
        raise


def _connect_first_card(context: int, readers: list[str]) -> PcscConnection:
    last_error: NoCardError | None = None
    for name in readers:
        try:
            return _connect_reader(context, name)
        except NoCardError as exc:
            logger.debug("no usable card in reader %s: %s", name, exc)
            last_error = exc
    raise NoCardError(f"no card in any of the readers: {', '.join(readers)}") from last_error


def _connect_reader(context: int, reader: str) -> PcscConnection:
    protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    try:
        hresult, card, protocol = scard.SCardConnect(context, reader, scard.SCARD_SHARE_SHARED, protocols)
    except (scard.error, SmartcardException) as exc:
        raise TransportError(f"SCardConnect on reader {reader!r} failed: {exc}") from exc
    _raise_for_result(hresult, "SCardConnect", reader)
    connection = PcscConnection(context, card, protocol, reader)
    interface = "contactless" if connection.is_contactless else "contact"
    logger.info("connected to the card in reader %s (protocol %s, %s)", reader, _protocol_name(protocol), interface)
    return connection


def _protocol_name(protocol: int) -> str:
    if protocol == scard.SCARD_PROTOCOL_T1:
        return "T=1"
    if protocol == scard.SCARD_PROTOCOL_T0:
        return "T=0"
    return f"0x{protocol:X}"


class PcscConnection(Connection):
    """A PC/SC connection to the card in one reader. It owns its PC/SC context."""

    def __init__(self, context: int, card: int, protocol: int, reader: str) -> None:
        self._context = context
        self._card = card
        self.protocol = protocol
        self.reader = reader
        self._closed = False
        self._atr = self._read_atr()

    def _read_atr(self) -> bytes | None:
        """Return the ATR at connect time, or None when the reader does not report it."""
        try:
            hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self._card)
        except (scard.error, SmartcardException, AttributeError, TypeError, ValueError) as exc:
            logger.debug("SCardStatus on reader %s failed: %s", self.reader, exc)
            return None
        if _code(hresult) != _SUCCESS:
            return None
        return bytes(atr)

    @property
    def protocol_name(self) -> str:
        """``T=1`` or ``T=0``."""
        return _protocol_name(self.protocol)

    @property
    def atr(self) -> bytes | None:
        """The card's ATR as the reader reported it at connect time (synthetic for contactless cards)."""
        return self._atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; under T=0 also follow 61xx with GET RESPONSE and 6Cxx with a resend."""
        self._ensure_open()
        data, sw = self._transmit_once(apdu)
        if sw >> 8 == _SW1_WRONG_LE:
            data, sw = self._transmit_once(_with_le(apdu, sw & 0xFF))
        data, sw = self._collect_remaining(data, sw)
        log_exchange(apdu, data, sw)
        return data, sw

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            hresult = scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            if _code(hresult) != _SUCCESS:
                logger.warning("SCardDisconnect on reader %s failed: %s", self.reader, _describe(hresult))
        except (scard.error, SmartcardException) as exc:
            logger.warning("SCardDisconnect on reader %s raised %s", self.reader, exc)
        finally:
            _release_context(self._context)
        logger.info("disconnected from reader %s", self.reader)

    def _ensure_open(self) -> None:
        if self._closed:
            raise TransportError(f"connection to reader {self.reader!r} is closed")

    def _transmit_once(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            hresult, response = scard.SCardTransmit(self._card, self.protocol, list(apdu))
        except (scard.error, SmartcardException) as exc:
            raise TransportError(f"SCardTransmit on reader {self.reader!r} failed: {exc}") from exc
        try:
            _raise_for_result(hresult, "SCardTransmit", self.reader)
        except CardRemovedError as exc:
            logger.warning("card removed from reader %s during an exchange: %s", self.reader, exc)
            message = REMOVED_CONTACTLESS_MESSAGE if self.is_contactless else REMOVED_CONTACT_MESSAGE
            raise CardRemovedError(str(exc), user_message=message) from exc
        return split_response(bytes(response))

    def _collect_remaining(self, data: bytes, sw: int) -> tuple[bytes, int]:
        """Send GET RESPONSE while the card returns 61xx, up to a fixed number of times."""
        collected = bytearray(data)
        for _ in range(_MAX_GET_RESPONSE):
            if sw >> 8 != _SW1_MORE_DATA:
                break
            more, sw = self._transmit_once(bytes((0x00, 0xC0, 0x00, 0x00, sw & 0xFF)))
            collected += more
        return bytes(collected), sw


def _with_le(apdu: bytes, le: int) -> bytes:
    """Return ``apdu`` with its Le byte replaced, or appended for a case 1 or case 3 command."""
    if len(apdu) <= 5:
        return apdu[:4] + bytes((le,))
    return apdu[: 5 + apdu[4]] + bytes((le,))


def _reader_states(context: int, states: list[tuple[str, int]], timeout: float) -> list[tuple[str, int, bytes]]:
    """Call SCardGetStatusChange and return (reader, event state, ATR) tuples; raise on failure."""
    try:
        hresult, new_states = scard.SCardGetStatusChange(context, int(timeout * 1000), states)
    except (scard.error, SmartcardException) as exc:
        raise TransportError(f"SCardGetStatusChange failed: {exc}") from exc
    if _code(hresult) == _TIMEOUT:
        return []
    _raise_for_result(hresult, "SCardGetStatusChange")
    return [(name, event, bytes(atr)) for name, event, atr in new_states]


def card_present(reader: str) -> bool:
    """Return whether ``reader`` contains a card now."""
    context = _establish_context()
    try:
        states = _reader_states(context, [(reader, scard.SCARD_STATE_UNAWARE)], 0)
    finally:
        _release_context(context)
    return any(event & scard.SCARD_STATE_PRESENT for _name, event, _atr in states)


def wait_for_card(reader: str | None = None, timeout: float = 30.0, poll: float = 1.0) -> str:
    """Wait until a card is in ``reader`` (or any reader when None) and return that reader's name.

    ``timeout`` is the maximum wait in seconds; ``poll`` the longest single
    SCardGetStatusChange call, so that readers plugged in meanwhile are seen. Raises
    NoCardError when the time runs out and NoReaderError when no reader is connected.
    """
    deadline = time.monotonic() + timeout
    context = _establish_context()
    try:
        while True:
            readers = _list_readers(context)
            if reader is not None and reader not in readers:
                raise NoReaderError(f"reader {reader!r} not found; readers: {', '.join(readers) or 'none'}")
            watched = [reader] if reader is not None else readers
            if not watched:
                raise NoReaderError("no PC/SC reader is connected")
            states = _reader_states(context, [(name, scard.SCARD_STATE_UNAWARE) for name in watched], 0)
            for name, event, _atr in states:
                if event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE:
                    logger.info("card detected in reader %s", name)
                    return name
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoCardError(f"no card was presented within {timeout} s")
            current = [(name, event) for name, event, _atr in states]
            _reader_states(context, current, min(poll, remaining))
    finally:
        _release_context(context)


def wait_for_removal(reader: str, timeout: float = 30.0, poll: float = 1.0) -> bool:
    """Wait until the card leaves ``reader``; return True when it did, False when ``timeout`` seconds passed first.

    A reader that disappears counts as removal, because the card is gone with it.
    """
    deadline = time.monotonic() + timeout
    context = _establish_context()
    try:
        while True:
            states = _reader_states(context, [(reader, scard.SCARD_STATE_UNAWARE)], 0)
            if not any(event & scard.SCARD_STATE_PRESENT for _name, event, _atr in states):
                logger.info("card removed from reader %s", reader)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _reader_states(context, [(name, event) for name, event, _atr in states], min(poll, remaining))
    except (ReaderUnavailableError, NoReaderError):
        logger.info("reader %s disappeared while waiting for card removal", reader)
        return True
    finally:
        _release_context(context)
