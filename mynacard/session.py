"""Commands that every application (DF) of the My Number Card shares.

This module owns the command encoding for SELECT (by AID and by EF), READ BINARY in
short chunks, VERIFY with its retry query, GET CHALLENGE and COMPUTE DIGITAL
SIGNATURE, and the mapping of their status words to domain errors. The application
sessions (``mynacard.jpki``, ``mynacard.faceaps``) subclass ``CardSession`` and add
their file identifiers and flows.
"""

from __future__ import annotations

import logging

from mynacard.apdu import ApduProtocol, CommandApdu
from mynacard.errors import (
    ApduError,
    CardDataError,
    FileNotFoundOnCardError,
    LastPinTryError,
    NotMyNumberCardError,
    PinBlockedError,
    SecurityStatusNotSatisfiedError,
    WrongPinError,
)
from mynacard.status import StatusWord, verification_tries_left

logger = logging.getLogger(__name__)

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
INS_VERIFY = 0x20
INS_COMPUTE_SIGNATURE = 0x2A
INS_GET_CHALLENGE = 0x84
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
P1_SELECT_DF_NAME = 0x04
P1_SELECT_EF = 0x02
P2_NO_RESPONSE_DATA = 0x0C
P2_CURRENT_KEY = 0x80
# COMPUTE DIGITAL SIGNATURE with P2=00 signs with the AP's default key. The card-face
# APs use it for internal authentication, which needs no credential.
P2_DEFAULT_KEY = 0x00

READ_CHUNK = 256
MAX_OFFSET = 0x7FFF  # READ BINARY carries a 15-bit offset in P1-P2
MAX_DIGEST_INFO = 245  # RSA-2048 PKCS#1 v1.5: 256 - 11 bytes of padding
MAX_CHALLENGE = 256


class CardSession:
    """One application of the card, selected by AID.

    Subclasses set ``aid`` and ``name``. Selecting the AP clears the card's security
    status, so a verified PIN lasts until the next ``select()``.
    """

    aid: bytes = b""
    name: str = "application"

    def __init__(self, protocol: ApduProtocol) -> None:
        self.protocol = protocol

    def select(self) -> None:
        """Select the AP by AID, or raise NotMyNumberCardError(None) when the card has none."""
        command = CommandApdu(CLA_ISO, INS_SELECT, P1_SELECT_DF_NAME, P2_NO_RESPONSE_DATA, self.aid)
        try:
            self.protocol.send(command)
        except ApduError as exc:
            if exc.sw == StatusWord.FILE_NOT_FOUND:
                raise NotMyNumberCardError(None) from exc
            raise

    def get_challenge(self, length: int = 8) -> bytes:
        """Return ``length`` (1 to 256) random bytes from the card (GET CHALLENGE)."""
        if not 1 <= length <= MAX_CHALLENGE:
            raise ValueError(f"challenge length must be 1..{MAX_CHALLENGE}, got {length}")
        data = self.protocol.send(CommandApdu(CLA_ISO, INS_GET_CHALLENGE, 0x00, 0x00, le=length))
        if len(data) != length:
            raise CardDataError(f"GET CHALLENGE returned {len(data)} bytes, expected {length}")
        return data

    def _select_ef(self, fid: int) -> None:
        command = CommandApdu(CLA_ISO, INS_SELECT, P1_SELECT_EF, P2_NO_RESPONSE_DATA, fid.to_bytes(2, "big"))
        try:
            self.protocol.send(command)
        except ApduError as exc:
            if exc.sw == StatusWord.FILE_NOT_FOUND:
                raise FileNotFoundOnCardError(fid) from exc
            raise

    def _read_binary(self, offset: int, length: int) -> bytes:
        """Read up to ``length`` bytes of the current EF in chunks of at most 256 bytes.

        Stops early at the end of the file, which the card signals with a short read.
        Raises SecurityStatusNotSatisfiedError when the file needs a PIN first.
        """
        if offset + length > MAX_OFFSET + 1:
            raise CardDataError(f"cannot read {length} bytes at offset {offset}: beyond the 15-bit offset range")
        result = bytearray()
        while len(result) < length:
            chunk = min(READ_CHUNK, length - len(result))
            position = offset + len(result)
            command = CommandApdu(CLA_ISO, INS_READ_BINARY, position >> 8, position & 0xFF, le=chunk)
            try:
                data = self.protocol.send(command)
            except ApduError as exc:
                if exc.sw == StatusWord.SECURITY_STATUS_NOT_SATISFIED:
                    raise SecurityStatusNotSatisfiedError() from exc
                raise
            result += data[:chunk]
            if len(data) < chunk:
                break
        return bytes(result)

    def _tries_left(self, pin_fid: int, max_tries: int) -> int:
        """Select a PIN EF and return its remaining tries with an empty VERIFY, which uses no try.

        The result does not show whether the PIN is already verified.
        """
        self._select_ef(pin_fid)
        try:
            self.protocol.send(CommandApdu(CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY))
        except ApduError as exc:
            tries_left = verification_tries_left(exc.sw)
            if tries_left is not None:
                return tries_left
            if exc.sw == StatusWord.REFERENCE_DATA_NOT_USABLE:
                return 0
            raise
        # NOTE: no card is known to return 9000 here. A 9000 could only follow a
        # successful VERIFY, which resets the counter, so the maximum is returned.
        return max_tries

    def _verify(self, pin_fid: int, secret: bytes, label: str, max_tries: int, confirm_last_try: bool) -> None:
        """VERIFY a PIN or verification number, guarding the last try.

        Queries the tries left first. When the key is blocked, PinBlockedError is raised
        and nothing is sent. When one try remains, LastPinTryError is raised and nothing
        is sent unless ``confirm_last_try`` is True. ``secret`` must not be empty, so
        an empty VERIFY (the retry query) is never sent as a verification.
        """
        if not secret:
            raise ValueError("refusing to send an empty VERIFY as a verification")
        tries_left = self._tries_left(pin_fid, max_tries)
        if tries_left == 0:
            logger.warning("%s %s is blocked; nothing sent", self.name, label)
            raise PinBlockedError()
        if tries_left == 1 and not confirm_last_try:
            logger.warning("%s %s has one try left; not sent without confirmation", self.name, label)
            raise LastPinTryError()
        command = CommandApdu(CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY, secret)
        try:
            self.protocol.send(command)
        except ApduError as exc:
            remaining = verification_tries_left(exc.sw)
            if remaining is not None:
                logger.warning("%s %s verification failed, %s tries left", self.name, label, remaining)
                raise WrongPinError(remaining) from exc
            if exc.sw == StatusWord.REFERENCE_DATA_NOT_USABLE:
                logger.warning("%s %s is blocked", self.name, label)
                raise PinBlockedError() from exc
            raise
        logger.info("%s %s verified", self.name, label)

    def _compute_signature(self, digest_info: bytes, p2: int) -> bytes:
        """Send COMPUTE DIGITAL SIGNATURE (80 2A 00 P2) for a DER DigestInfo and return the signature."""
        if not 1 <= len(digest_info) <= MAX_DIGEST_INFO:
            raise ValueError(f"DigestInfo must be 1..{MAX_DIGEST_INFO} bytes, got {len(digest_info)}")
        command = CommandApdu(CLA_PROPRIETARY, INS_COMPUTE_SIGNATURE, 0x00, p2, digest_info, le=256)
        try:
            return self.protocol.send(command)
        except ApduError as exc:
            if exc.sw == StatusWord.SECURITY_STATUS_NOT_SATISFIED:
                raise SecurityStatusNotSatisfiedError() from exc
            raise
