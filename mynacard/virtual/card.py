"""Virtual My Number Card: command handling, PIN counters and the command log.

This module owns the card's behaviour as the public record of real cards describes it:
no DF at power-on, SELECT by AID (P2=0C) and by EF (P1=02) only, 15-bit READ BINARY
offsets with 6B00 past the end, 6982 on protected files, PIN counters that block with
6984 and persist in ``state.json``, GET CHALLENGE, and COMPUTE DIGITAL SIGNATURE with
PKCS#1 v1.5 padding added by the card, either with the current key EF (P2=80) or with
the AP's internal-authentication key (P2=00, no credential). Only logical channel 0
and short APDUs are accepted. An optional ``LatencyModel`` delays each response.

Every command is appended to ``commands.log`` in the card directory as one JSON line
with its header, the selected AP and EF and the status word. Command data is never
logged, so PINs never reach the log.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.errors import MY_NUMBER_CARD_TOKEN
from mynacard.facedata import sign_digest_info
from mynacard.jpki import MAX_DIGEST_INFO
from mynacard.status import StatusWord, verification_failed_sw
from mynacard.virtual.files import Application, BinaryFile, KeyFile, PinFile, load_applications
from mynacard.virtual.latency import LatencyModel

logger = logging.getLogger(__name__)

DEFAULT_ATR = bytes.fromhex("3BE000FF8131FE4514")
COMMAND_LOG_FILE = "commands.log"
STATE_FILE = "state.json"
MF_FID = b"\x3f\x00"

_CLA_ISO = 0x00
_CLA_PROPRIETARY = 0x80
_CLA_CHANNEL_BITS = 0x03
_INS_VERIFY = 0x20
_INS_SIGN = 0x2A
_INS_GET_CHALLENGE = 0x84
_P2_CURRENT_KEY = 0x80
_P2_DEFAULT_KEY = 0x00
_INS_SELECT = 0xA4
_INS_READ_BINARY = 0xB0


class _Reject(Exception):
    """Ends command handling with a status word other than 9000."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


@dataclass(frozen=True)
class _Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None  # 1..256, None when the command has no Le field


def _parse(apdu: bytes) -> _Command:
    """Decode a short APDU; raise _Reject(6700) for extended or malformed lengths."""
    if len(apdu) < 4:
        raise _Reject(StatusWord.WRONG_LENGTH)
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return _Command(cla, ins, p1, p2, b"", None)
    if len(body) == 1:
        return _Command(cla, ins, p1, p2, b"", body[0] or 256)
    lc = body[0]
    if lc == 0:  # extended length, which this card does not accept
        raise _Reject(StatusWord.WRONG_LENGTH)
    if len(body) == 1 + lc:
        return _Command(cla, ins, p1, p2, body[1:], None)
    if len(body) == 2 + lc:
        return _Command(cla, ins, p1, p2, body[1:-1], body[-1] or 256)
    raise _Reject(StatusWord.WRONG_LENGTH)


def _check_class(cla: int) -> None:
    if cla in (_CLA_ISO, _CLA_PROPRIETARY):
        return
    if cla & ~_CLA_CHANNEL_BITS in (_CLA_ISO, _CLA_PROPRIETARY):
        raise _Reject(StatusWord.LOGICAL_CHANNEL_NOT_SUPPORTED)
    raise _Reject(StatusWord.CLA_NOT_SUPPORTED)


def pkcs1_v15_sign(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """Sign ``digest_info`` as given, adding the PKCS#1 v1.5 padding as the card does."""
    return sign_digest_info(key, digest_info)


class VirtualCard:
    """An in-process My Number Card that processes APDUs like the real card."""

    def __init__(
        self,
        applications: list[Application],
        *,
        atr: bytes = DEFAULT_ATR,
        card_dir: Path | None = None,
        latency: LatencyModel | None = None,
    ) -> None:
        self.atr = atr
        self.card_dir = card_dir
        self.latency = latency
        self.command_log: list[dict[str, Any]] = []
        self._applications = {app.aid: app for app in applications}
        self._lock = threading.Lock()
        self._tries = self._initial_tries()
        self._application: Application | None = None
        self._fid: int | None = None
        self._verified: set[int] = set()
        self._load_state()

    @classmethod
    def from_dir(
        cls,
        card_dir: Path,
        *,
        token: str = MY_NUMBER_CARD_TOKEN,
        atr: bytes = DEFAULT_ATR,
        latency: LatencyModel | None = None,
    ) -> VirtualCard:
        """Load a card issued by ``mynacard.devpki.issue_card``, with its saved PIN counters.

        ``token`` replaces the token label, so tests can present an old 住基カード or
        a smartphone certificate (which then has only the JPKI AP, with the auth
        certificate behind the auth PIN). ``atr`` replaces the ATR, for example with a
        contactless one.
        """
        card_dir = Path(card_dir)
        card = cls(load_applications(card_dir, token), atr=atr, card_dir=card_dir, latency=latency)
        logger.info("virtual card loaded from %s", card_dir)
        return card

    # Public state --------------------------------------------------------------

    def reset(self) -> None:
        """Power-cycle the card: no DF selected and no PIN verified. PIN counters are kept."""
        with self._lock:
            self._application = None
            self._fid = None
            self._verified.clear()
        logger.debug("virtual card reset")

    def application(self, name: str) -> Application:
        """Return the application named ``name`` (``jpki``, ``text`` or ``visual``), so tests can alter its files."""
        for application in self._applications.values():
            if application.name == name:
                return application
        raise KeyError(f"no application named {name!r}")

    def tries_left(self, ap_name: str, pin_fid: int) -> int:
        """Return the remaining tries of a PIN, such as ``tries_left("jpki", 0x0018)``."""
        return self._tries[_counter_key(ap_name, pin_fid)]

    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU and return the response data followed by SW1 SW2."""
        with self._lock:
            command: _Command | None = None
            try:
                command = _parse(apdu)
                _check_class(command.cla)
                data, sw = self._dispatch(command), int(StatusWord.OK)
            except _Reject as reject:
                data, sw = b"", reject.sw
            self._record(apdu, command, sw)
        if self.latency is not None:
            self.latency.wait(len(apdu), len(data) + 2, signed=command is not None and _is_signature(command, sw))
        return data + sw.to_bytes(2, "big")

    # Command dispatch -----------------------------------------------------------

    def _dispatch(self, command: _Command) -> bytes:
        handlers = {
            (_CLA_ISO, _INS_SELECT): self._select,
            (_CLA_ISO, _INS_READ_BINARY): self._read_binary,
            (_CLA_ISO, _INS_VERIFY): self._verify,
            (_CLA_ISO, _INS_GET_CHALLENGE): self._get_challenge,
            (_CLA_PROPRIETARY, _INS_SIGN): self._sign,
        }
        handler = handlers.get((command.cla, command.ins))
        if handler is None:
            raise _Reject(StatusWord.INS_NOT_SUPPORTED)
        return handler(command)

    def _select(self, command: _Command) -> bytes:
        if command.p1 == 0x00:
            return self._select_master_file(command)
        if command.p1 == 0x04:
            return self._select_application(command)
        if command.p1 == 0x02:
            return self._select_elementary_file(command)
        raise _Reject(StatusWord.INCORRECT_P1_P2)

    def _select_master_file(self, command: _Command) -> bytes:
        # The card has no selectable MF: 3F00 is not found, and SELECT MF without data
        # fails at power-on but is accepted (doing nothing) while a DF is current.
        if command.data == MF_FID:
            raise _Reject(StatusWord.FILE_NOT_FOUND)
        if command.data or self._application is None:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        return b""

    def _select_application(self, command: _Command) -> bytes:
        # NOTE: real cards were only observed with P2=0C. Other P2 values are rejected
        # here because the real card's response to them is unknown.
        if command.p2 != 0x0C:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if not 1 <= len(command.data) <= 16:
            raise _Reject(StatusWord.WRONG_LENGTH)
        application = self._applications.get(command.data)
        if application is None:
            raise _Reject(StatusWord.FILE_NOT_FOUND)
        self._application = application
        self._fid = None
        self._verified.clear()
        return b""

    def _select_elementary_file(self, command: _Command) -> bytes:
        if command.p2 != 0x0C:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if len(command.data) != 2:
            raise _Reject(StatusWord.WRONG_LENGTH)
        fid = int.from_bytes(command.data, "big")
        if self._application is None or fid not in self._application.files:
            raise _Reject(StatusWord.FILE_NOT_FOUND)
        self._fid = fid
        return b""

    def _read_binary(self, command: _Command) -> bytes:
        # NOTE: the short-EF-identifier form (P1 bit 8 set) is not implemented and
        # returns 6A86, so every read on this card goes through a logged SELECT.
        if command.p1 & 0x80:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if command.le is None or command.data:
            raise _Reject(StatusWord.WRONG_LENGTH)
        _application, _fid, file = self._current_file(BinaryFile)
        if not file.is_readable(self._verified):
            raise _Reject(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        offset = (command.p1 << 8) | command.p2
        if offset >= len(file.data):
            raise _Reject(StatusWord.WRONG_P1_P2)
        return file.data[offset : offset + command.le]

    def _verify(self, command: _Command) -> bytes:
        if command.p1 != 0x00 or command.p2 != 0x80:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        application, fid, pin = self._current_file(PinFile)
        key = _counter_key(application.name, fid)
        tries = self._tries[key]
        if not command.data:
            raise _Reject(verification_failed_sw(tries))
        if tries == 0:
            raise _Reject(StatusWord.REFERENCE_DATA_NOT_USABLE)
        if command.data == pin.value:
            self._set_tries(key, pin.max_tries)
            self._verified.add(fid)
            return b""
        self._verified.discard(fid)
        self._set_tries(key, tries - 1)
        raise _Reject(verification_failed_sw(tries - 1))

    def _sign(self, command: _Command) -> bytes:
        if command.p1 != 0x00:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if command.p2 == _P2_CURRENT_KEY:
            _application, _fid, key_file = self._current_file(KeyFile)
        elif command.p2 == _P2_DEFAULT_KEY:
            key_file = self._default_key()
        else:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if key_file.pin_fid is not None and key_file.pin_fid not in self._verified:
            raise _Reject(StatusWord.SECURITY_STATUS_NOT_SATISFIED)
        if not 1 <= len(command.data) <= MAX_DIGEST_INFO:
            raise _Reject(StatusWord.WRONG_LENGTH)
        return pkcs1_v15_sign(key_file.key, command.data)

    def _default_key(self) -> KeyFile:
        # NOTE: P2=00 in the JPKI AP was never observed on a real card; this card returns 6A86 there.
        application = self._application
        if application is None or application.default_key_fid is None:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        key_file = application.files[application.default_key_fid]
        assert isinstance(key_file, KeyFile)
        return key_file

    def _get_challenge(self, command: _Command) -> bytes:
        # Works with or without a DF selected. The extended form never reaches this
        # point because _parse rejects extended lengths with 6700.
        if command.p1 != 0x00 or command.p2 != 0x00:
            raise _Reject(StatusWord.INCORRECT_P1_P2)
        if command.le is None or command.data:
            raise _Reject(StatusWord.WRONG_LENGTH)
        return os.urandom(command.le)

    def _current_file(self, kind: type) -> tuple[Application, int, Any]:
        """Return (application, FID, file) for the current EF if it is of ``kind``, else reject with 6986."""
        application, fid = self._application, self._fid
        if application is None or fid is None:
            raise _Reject(StatusWord.COMMAND_NOT_ALLOWED)
        file = application.files[fid]
        if not isinstance(file, kind):
            raise _Reject(StatusWord.COMMAND_NOT_ALLOWED)
        return application, fid, file

    # PIN counters ---------------------------------------------------------------

    def _initial_tries(self) -> dict[str, int]:
        return {
            _counter_key(app.name, fid): file.max_tries
            for app in self._applications.values()
            for fid, file in app.files.items()
            if isinstance(file, PinFile)
        }

    def _state_path(self) -> Path | None:
        return self.card_dir / STATE_FILE if self.card_dir else None

    def _load_state(self) -> None:
        path = self._state_path()
        if path is None or not path.exists():
            return
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))["pin_tries"]
            counters = {key: int(value) for key, value in saved.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"invalid virtual card state file {path} ({exc!r}); delete it to reset the PIN counters"
            ) from exc
        for key, value in counters.items():
            if key in self._tries:
                self._tries[key] = max(0, min(value, self._tries[key]))

    def _set_tries(self, key: str, value: int) -> None:
        self._tries[key] = value
        path = self._state_path()
        if path is None:
            return
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps({"pin_tries": self._tries}, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    # Command log ----------------------------------------------------------------

    def _record(self, apdu: bytes, command: _Command | None, sw: int) -> None:
        header = apdu[:4].ljust(4, b"\x00")
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "cla": f"{header[0]:02X}",
            "ins": f"{header[1]:02X}",
            "p1": f"{header[2]:02X}",
            "p2": f"{header[3]:02X}",
            "ap": self._application.name if self._application else None,
            "ef": f"{self._fid:04X}" if self._fid is not None else None,
            "target": _select_target(command),
            "sw": f"{sw:04X}",
        }
        self.command_log.append(entry)
        if self.card_dir is not None:
            with (self.card_dir / COMMAND_LOG_FILE).open("a", encoding="utf-8") as log_file:
                log_file.write(json.dumps(entry) + "\n")


def _is_signature(command: _Command, sw: int) -> bool:
    return command.cla == _CLA_PROPRIETARY and command.ins == _INS_SIGN and sw == StatusWord.OK


def _counter_key(ap_name: str, pin_fid: int) -> str:
    return f"{ap_name}/{pin_fid:04X}"


def _select_target(command: _Command | None) -> str | None:
    """Return the AID or FID that a SELECT asked for, in hex; None for other commands."""
    if command is None or command.ins != _INS_SELECT or command.cla != _CLA_ISO:
        return None
    return command.data.hex().upper()
