"""PC/SC transport through pyscard. This is the only module of the project that imports pyscard.

It uses pyscard's low-level ``smartcard.scard`` API so that every PC/SC result code
can be translated into a ``mynacard.errors`` type at this boundary. pyscard's own
exceptions are translated too and chained with ``raise ... from``.
"""

from __future__ import annotations

import logging

from smartcard import scard
from smartcard.Exceptions import SmartcardException

from mynacard.errors import (
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderUnavailableError,
    TransportError,
)
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
    if code in _NO_READER:
        raise NoReaderError(message)
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
    logger.info("connected to the card in reader %s (protocol %s)", reader, _protocol_name(protocol))
    return PcscConnection(context, card, protocol, reader)


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

    @property
    def protocol_name(self) -> str:
        """``T=1`` or ``T=0``."""
        return _protocol_name(self.protocol)

    @property
    def atr(self) -> bytes:
        """The card's ATR as reported by the reader."""
        self._ensure_open()
        try:
            hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self._card)
        except (scard.error, SmartcardException) as exc:
            raise TransportError(f"SCardStatus on reader {self.reader!r} failed: {exc}") from exc
        _raise_for_result(hresult, "SCardStatus", self.reader)
        return bytes(atr)

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
        _raise_for_result(hresult, "SCardTransmit", self.reader)
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
