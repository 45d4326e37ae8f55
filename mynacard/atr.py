"""ATRs of cards that may be put on the reader, used only to word messages.

The card core identifies a My Number Card by selecting the JPKI AP and reading its
token, never by ATR, because ATRs differ by manufacturer, generation and interface.
This module owns the known ATRs of other cards so that a card without a JPKI AP can be
named in the message (a driver's licence, an old 住基カード, a doctor's HPKI card), and
the test for a contactless (PC/SC Part 3) ATR.

Sources of the ATRs: pcsc-tools ``smartcard_list.txt`` (entries added 2011 to 2024)
and OpenSC's JPKI ATR table.
"""

from __future__ import annotations

from mynacard.errors import (
    CARD_KIND_DRIVERS_LICENCE,
    CARD_KIND_HPKI,
    CARD_KIND_OTHER,
    CARD_KIND_RESIDENT_REGISTRY,
)

# ATRs of cards other than the My Number Card, and what each is.
OTHER_CARD_ATRS: dict[bytes, str] = {
    bytes.fromhex("3BF59100FF918171FE4000420001B3C175"): CARD_KIND_DRIVERS_LICENCE,
    bytes.fromhex("3B888001000000009181C100D8"): CARD_KIND_DRIVERS_LICENCE,
    bytes.fromhex("3B888001000014E0B38191005E"): CARD_KIND_RESIDENT_REGISTRY,
    bytes.fromhex("3BF41300008131FE45004E0000A2"): CARD_KIND_HPKI,
}

# PC/SC Part 3: a contactless reader builds the ATR "3B 8n 80 01 ..." from the ISO 14443
# response (ATQB for Type B). A contact card whose ATR starts the same way would be
# taken for contactless, which changes only the wording of messages.
_CONTACTLESS_PREFIX_LENGTH = 4


def is_contactless_atr(atr: bytes) -> bool:
    """Return whether ``atr`` is one that a PC/SC reader builds for a contactless card."""
    if len(atr) < _CONTACTLESS_PREFIX_LENGTH:
        return False
    return atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2] == 0x80 and atr[3] == 0x01


def classify_other_card(atr: bytes | None) -> str | None:
    """Return the CARD_KIND_* of a card that has no JPKI AP, or None when there is no ATR to go by."""
    if atr is None:
        return None
    return OTHER_CARD_ATRS.get(bytes(atr), CARD_KIND_OTHER)
