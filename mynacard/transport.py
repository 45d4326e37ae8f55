"""Transport layer: the abstract card connection and the in-process virtual connection.

A ``Connection`` moves one command APDU to the card and returns the response data and
the status word. It does not interpret the status word; ``mynacard.apdu`` does.
Raw APDU hex is logged here, at DEBUG only, with the data of PIN commands masked.
The PC/SC connection lives in ``mynacard.pcsc``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, Self

from mynacard.errors import CardDataError, TransportError

if TYPE_CHECKING:
    from mynacard.virtual.card import VirtualCard

logger = logging.getLogger(__name__)

# INS codes whose command data is a PIN or other reference data:
# VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and the JICSAP CHANGE KEY.
_SECRET_DATA_INS = frozenset({0x20, 0x24, 0x2C, 0x32})


def mask_apdu(apdu: bytes) -> str:
    """Return the APDU as hex, with the command data of PIN commands replaced by its length."""
    if len(apdu) > 5 and apdu[1] in _SECRET_DATA_INS:
        return f"{apdu[:5].hex(' ').upper()} <{len(apdu) - 5} bytes masked>"
    return apdu.hex(" ").upper()


def log_exchange(apdu: bytes, data: bytes, sw: int) -> None:
    """Log one command and its response at DEBUG, with PIN data masked."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("C-APDU %s", mask_apdu(apdu))
        logger.debug("R-APDU %s SW %04X", data.hex(" ").upper() or "(no data)", sw)


def split_response(response: bytes) -> tuple[bytes, int]:
    """Split a response APDU into (data, SW); raise CardDataError when it has no status word."""
    if len(response) < 2:
        raise CardDataError(f"response APDU of {len(response)} bytes has no status word")
    return response[:-2], int.from_bytes(response[-2:], "big")


class Connection(ABC):
    """A connection to one card that exchanges command and response APDUs."""

    @abstractmethod
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command APDU and return (response data, SW as int)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Calling it twice is allowed."""

    @property
    def atr(self) -> bytes | None:
        """The ATR the reader reports, or None when the connection cannot tell."""
        return None

    @property
    def is_contactless(self) -> bool:
        """Whether the card sits on a contactless (ISO 14443) interface, judged from the ATR."""
        from mynacard.atr import is_contactless_atr

        atr = self.atr
        return atr is not None and is_contactless_atr(atr)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class VirtualConnection(Connection):
    """Connection to an in-process ``VirtualCard``, used by unit tests and demos."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self._closed = False

    @property
    def atr(self) -> bytes:
        """The virtual card's ATR."""
        return self.card.atr

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._closed:
            raise TransportError("transmit on a closed virtual connection")
        data, sw = split_response(self.card.transmit(apdu))
        log_exchange(apdu, data, sw)
        return data, sw

    def close(self) -> None:
        self._closed = True
