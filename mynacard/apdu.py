"""APDU layer: command encoding and the one place that turns a status word into an error.

``ApduProtocol.send`` returns the response data for SW 9000 and raises ``ApduError``
for every other status word. Application sessions catch ``ApduError`` and map the
status words they expect to domain errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from mynacard.errors import ApduError
from mynacard.status import StatusWord, status_word_name, verification_tries_left
from mynacard.transport import Connection

__all__ = [
    "ApduProtocol",
    "CommandApdu",
    "StatusWord",
    "status_word_name",
    "verification_tries_left",
]

MAX_SHORT_LC = 255
MAX_SHORT_LE = 256

_COMMAND_NAMES = {
    0x20: "VERIFY",
    0x2A: "COMPUTE DIGITAL SIGNATURE",
    0x84: "GET CHALLENGE",
    0x88: "INTERNAL AUTHENTICATE",
    0xA4: "SELECT",
    0xB0: "READ BINARY",
    0xB2: "READ RECORD",
    0xC0: "GET RESPONSE",
    0xCA: "GET DATA",
}


@dataclass(frozen=True)
class CommandApdu:
    """A short command APDU (ISO 7816-4).

    ``le`` is the expected response length, 1 to 256, or None for no Le field.
    256 is encoded as ``00``. Extended-length APDUs are not supported because the
    card's public implementations all read in short chunks, which every reader supports.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be a byte (0..255), got {value}")
        if len(self.data) > MAX_SHORT_LC:
            raise ValueError(f"command data of {len(self.data)} bytes exceeds the short APDU limit of 255")
        if self.le is not None and not 1 <= self.le <= MAX_SHORT_LE:
            raise ValueError(f"le must be 1..256 or None, got {self.le}")

    @property
    def name(self) -> str:
        """Command name such as ``SELECT``, or the INS in hex for commands without a name here."""
        return _COMMAND_NAMES.get(self.ins, f"INS {self.ins:02X}")

    def to_bytes(self) -> bytes:
        """Encode the command as case 1, 2, 3 or 4 short APDU bytes."""
        encoded = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            encoded.append(len(self.data))
            encoded += self.data
        if self.le is not None:
            encoded.append(self.le % MAX_SHORT_LE)
        return bytes(encoded)


class ApduProtocol:
    """Sends ``CommandApdu`` objects over a ``Connection`` and checks the status word."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def send(self, command: CommandApdu) -> bytes:
        """Send the command and return the response data; raise ``ApduError`` unless SW is 9000."""
        data, sw = self.connection.transmit(command.to_bytes())
        if sw != StatusWord.OK:
            raise ApduError(sw, command.name)
        return data
