"""Latency model of the virtual card, so that timings through it resemble a real card.

Each response is delayed by a fixed cost per APDU (reader turnaround and the card's
command processing), a cost per byte on the wire in both directions, and, for a
successful COMPUTE DIGITAL SIGNATURE, the time of the card's RSA-2048 private-key
operation.

NOTE: the presets are estimates, not measurements of a real My Number Card: about
100 kbit/s on the wire after the reader negotiates a faster rate for contact T=1
(ISO 14443 Type B runs at 106 kbit/s), a few milliseconds per command, and about
200 ms per RSA-2048 signature, which is typical of smart-card chips of this class.
Replace them with measured values when a real card and reader are at hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LatencyModel:
    """Delays in seconds: ``per_apdu`` for each exchange, ``per_byte`` for each byte sent or
    received, and ``per_signature`` for each signature the card computes.
    """

    per_apdu: float = 0.003
    per_byte: float = 0.0001
    per_signature: float = 0.2
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delay(self, command_length: int, response_length: int, *, signed: bool = False) -> float:
        """Return the delay in seconds for one exchange."""
        seconds = self.per_apdu + self.per_byte * (command_length + response_length)
        if signed:
            seconds += self.per_signature
        return seconds

    def wait(self, command_length: int, response_length: int, *, signed: bool = False) -> None:
        """Sleep for the delay of one exchange."""
        self.sleep(self.delay(command_length, response_length, signed=signed))


CONTACT = LatencyModel(per_apdu=0.003, per_byte=0.0001, per_signature=0.2)
CONTACTLESS = LatencyModel(per_apdu=0.006, per_byte=0.000094, per_signature=0.2)
PRESETS = {"contact": CONTACT, "contactless": CONTACTLESS}
