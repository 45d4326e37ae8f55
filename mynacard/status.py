"""Status words (SW1-SW2) that the My Number Card and the virtual card return.

This module owns the names of status words. It imports nothing from the rest of the
package, so both ``mynacard.errors`` and ``mynacard.apdu`` can use it.
"""

from __future__ import annotations

from enum import IntEnum


class StatusWord(IntEnum):
    """Status words used by the JPKI and card-face applications (ISO 7816-4 / JICSAP)."""

    OK = 0x9000
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    # ISO 7816-4 calls 6984 "reference data not usable". JICSAP uses it for a
    # blocked PIN after the try that took the counter to zero.
    REFERENCE_DATA_NOT_USABLE = 0x6984
    # Returned by the virtual card for READ BINARY, VERIFY or signing when the
    # current EF does not fit the command. The real card's status here is unknown.
    COMMAND_NOT_ALLOWED = 0x6986
    FILE_NOT_FOUND = 0x6A82
    INCORRECT_P1_P2 = 0x6A86
    # JICSAP status for a READ BINARY offset at or beyond the end of the file.
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00


VERIFICATION_FAILED_SW1 = 0x63
_COUNTER_MARKER = 0xC0


def verification_tries_left(sw: int) -> int | None:
    """Return x for a ``63 Cx`` status word (tries left), or None for any other status word."""
    if sw >> 8 != VERIFICATION_FAILED_SW1:
        return None
    sw2 = sw & 0xFF
    if sw2 & 0xF0 != _COUNTER_MARKER:
        return None
    return sw2 & 0x0F


def verification_failed_sw(tries_left: int) -> int:
    """Return the ``63 Cx`` status word for ``tries_left`` (0 to 15)."""
    if not 0 <= tries_left <= 0x0F:
        raise ValueError(f"tries_left must be 0..15, got {tries_left}")
    return (VERIFICATION_FAILED_SW1 << 8) | _COUNTER_MARKER | tries_left


def status_word_name(sw: int) -> str:
    """Return a readable name for a status word, such as ``FILE_NOT_FOUND`` or ``VERIFICATION_FAILED_2_TRIES_LEFT``."""
    tries_left = verification_tries_left(sw)
    if tries_left is not None:
        return f"VERIFICATION_FAILED_{tries_left}_TRIES_LEFT"
    try:
        return StatusWord(sw).name
    except ValueError:
        return "UNKNOWN"
