"""JPKI application session (公的個人認証AP) of the My Number Card.

This module owns the application identifiers, the JPKI file identifiers and the command
sequences for the token, the user-authentication certificate, the auth PIN and the
auth-key signature. It maps the status words those commands return to domain errors.

The individual number is never read: no function here selects text-AP EF 0001 or
visual-AP EF 0005. Their identifiers are defined only so that tests and the virtual
card can name them.
"""

from __future__ import annotations

import logging
import re

from mynacard.apdu import ApduProtocol, CommandApdu
from mynacard.errors import (
    MY_NUMBER_CARD_TOKEN,
    ApduError,
    CardDataError,
    FileNotFoundOnCardError,
    InvalidPinFormatError,
    NotMyNumberCardError,
    PinBlockedError,
    SecurityStatusNotSatisfiedError,
    WrongPinError,
)
from mynacard.status import StatusWord, verification_tries_left

logger = logging.getLogger(__name__)

JPKI_AID = bytes.fromhex("D392F000260100000001")
TEXT_AP_AID = bytes.fromhex("D3921000310001010408")
VISUAL_AP_AID = bytes.fromhex("D3921000310001010402")

# JPKI AP files. Certificate EFs hold DER followed by filler bytes.
EF_SIGN_CERT = 0x0001  # readable only after the signature password
EF_SIGN_CA_CERT = 0x0002
EF_TOKEN = 0x0006
EF_AUTH_CERT = 0x000A  # readable without a PIN on a physical card
EF_AUTH_CA_CERT = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B

# Files that contain the individual number. Nothing outside the virtual card selects them.
TEXT_AP_EF_MY_NUMBER = 0x0001
VISUAL_AP_EF_MY_NUMBER_IMAGE = 0x0005

AUTH_PIN_MAX_TRIES = 3
TOKEN_LENGTH = 32
READ_CHUNK = 256
MAX_OFFSET = 0x7FFF  # READ BINARY carries a 15-bit offset in P1-P2
DER_HEADER_READ = 4  # enough for "30 82 HH LL", the header of every JPKI certificate
MAX_DIGEST_INFO = 245  # RSA-2048 PKCS#1 v1.5: 256 - 11 bytes of padding

SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")

_PIN_PATTERN = re.compile(r"[0-9]{4}")

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
INS_VERIFY = 0x20
INS_COMPUTE_SIGNATURE = 0x2A
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
P1_SELECT_DF_NAME = 0x04
P1_SELECT_EF = 0x02
P2_NO_RESPONSE_DATA = 0x0C
P2_CURRENT_KEY = 0x80


def der_total_length(header: bytes) -> int:
    """Return the total length (header plus content) of the DER SEQUENCE that starts ``header``.

    Supports the short form and the long forms ``81 LL`` and ``82 HH LL``. Longer forms
    cannot occur because READ BINARY offsets stop at 0x7FFF.
    Raises CardDataError for anything else, such as an erased file of FF filler.
    """
    if len(header) < 2 or header[0] != 0x30:
        raise CardDataError(f"expected a DER SEQUENCE, got {header[:4].hex().upper() or 'no data'}")
    first = header[1]
    if first < 0x80:
        return 2 + first
    length_octets = first & 0x7F
    if length_octets not in (1, 2):
        raise CardDataError(f"unsupported DER length byte {first:02X}")
    if len(header) < 2 + length_octets:
        raise CardDataError("DER header truncated")
    content_length = int.from_bytes(header[2 : 2 + length_octets], "big")
    return 2 + length_octets + content_length


def sha256_digest_info(digest: bytes) -> bytes:
    """Wrap a 32-byte SHA-256 hash in the DER DigestInfo that ``sign_with_auth_key`` expects."""
    if len(digest) != 32:
        raise ValueError(f"a SHA-256 digest has 32 bytes, got {len(digest)}")
    return SHA256_DIGEST_INFO_PREFIX + digest


def validate_pin(pin: str) -> None:
    """Raise InvalidPinFormatError unless ``pin`` is exactly 4 ASCII digits."""
    if not isinstance(pin, str) or not _PIN_PATTERN.fullmatch(pin):
        raise InvalidPinFormatError()


class JpkiSession:
    """Commands of the JPKI application.

    Call ``select()`` or ``ensure_my_number_card()`` first. Re-selecting the AP clears
    the card's security status, so a verified PIN lasts until the next ``select()``.
    """

    def __init__(self, protocol: ApduProtocol) -> None:
        self.protocol = protocol

    def select(self) -> None:
        """Select the JPKI AP, or raise NotMyNumberCardError(None) when the card has none."""
        command = CommandApdu(CLA_ISO, INS_SELECT, P1_SELECT_DF_NAME, P2_NO_RESPONSE_DATA, JPKI_AID)
        try:
            self.protocol.send(command)
        except ApduError as exc:
            if exc.sw == StatusWord.FILE_NOT_FOUND:
                raise NotMyNumberCardError(None) from exc
            raise

    def read_token(self) -> str:
        """Read the token label from EF 0006 (first 32 bytes, spaces and NULs stripped)."""
        self._select_ef(EF_TOKEN)
        raw = self._read_binary(0, TOKEN_LENGTH)
        return raw.decode("ascii", errors="replace").strip(" \x00")

    def ensure_my_number_card(self) -> str:
        """Select the JPKI AP, check the token and return it.

        Raises NotMyNumberCardError with the token for an old 住基カード, a smartphone
        certificate or any other token, and with None when the AP or token file is missing.
        """
        self.select()
        try:
            token = self.read_token()
        except FileNotFoundOnCardError as exc:
            raise NotMyNumberCardError(None) from exc
        if token != MY_NUMBER_CARD_TOKEN:
            raise NotMyNumberCardError(token)
        logger.info("card identified as a My Number Card (token %s)", token)
        return token

    def read_auth_certificate(self) -> bytes:
        """Return the DER user-authentication certificate (EF 000A), filler removed."""
        return self._read_certificate(EF_AUTH_CERT)

    def read_auth_ca_certificate(self) -> bytes:
        """Return the DER certificate of the CA that issued the auth certificate (EF 000B)."""
        return self._read_certificate(EF_AUTH_CA_CERT)

    def auth_pin_tries_left(self) -> int:
        """Return the auth PIN's remaining tries without using one (empty VERIFY).

        The result does not show whether the PIN is already verified.
        """
        self._select_ef(EF_AUTH_PIN)
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
        return AUTH_PIN_MAX_TRIES

    def verify_auth_pin(self, pin: str) -> None:
        """Verify the 4-digit auth PIN (EF 0018).

        Raises InvalidPinFormatError before sending anything when the PIN is not 4 ASCII
        digits, so an empty PIN can never be sent as a verification. Raises WrongPinError
        with the tries left (0 when this try blocked the PIN) and PinBlockedError when
        the PIN was already blocked.
        """
        validate_pin(pin)
        self._select_ef(EF_AUTH_PIN)
        command = CommandApdu(CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY, pin.encode("ascii"))
        try:
            self.protocol.send(command)
        except ApduError as exc:
            tries_left = verification_tries_left(exc.sw)
            if tries_left is not None:
                logger.warning("auth PIN verification failed, %s tries left", tries_left)
                raise WrongPinError(tries_left) from exc
            if exc.sw == StatusWord.REFERENCE_DATA_NOT_USABLE:
                logger.warning("auth PIN is blocked")
                raise PinBlockedError() from exc
            raise
        logger.info("auth PIN verified")

    def sign_with_auth_key(self, digest_info: bytes) -> bytes:
        """Sign a DER DigestInfo with the auth key (EF 0017) and return the RSA signature.

        The card adds the PKCS#1 v1.5 padding. The auth PIN must be verified in this
        AP selection, otherwise SecurityStatusNotSatisfiedError is raised.
        """
        if not 1 <= len(digest_info) <= MAX_DIGEST_INFO:
            raise ValueError(f"DigestInfo must be 1..{MAX_DIGEST_INFO} bytes, got {len(digest_info)}")
        self._select_ef(EF_AUTH_KEY)
        command = CommandApdu(
            CLA_PROPRIETARY, INS_COMPUTE_SIGNATURE, 0x00, P2_CURRENT_KEY, digest_info, le=256
        )
        try:
            return self.protocol.send(command)
        except ApduError as exc:
            if exc.sw == StatusWord.SECURITY_STATUS_NOT_SATISFIED:
                raise SecurityStatusNotSatisfiedError() from exc
            raise

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
        """
        if offset + length > MAX_OFFSET + 1:
            raise CardDataError(f"cannot read {length} bytes at offset {offset}: beyond the 15-bit offset range")
        result = bytearray()
        while len(result) < length:
            chunk = min(READ_CHUNK, length - len(result))
            position = offset + len(result)
            command = CommandApdu(CLA_ISO, INS_READ_BINARY, position >> 8, position & 0xFF, le=chunk)
            data = self.protocol.send(command)
            result += data[:chunk]
            if len(data) < chunk:
                break
        return bytes(result)

    def _read_certificate(self, fid: int) -> bytes:
        """Select a certificate EF and read exactly the DER certificate, leaving the filler unread."""
        self._select_ef(fid)
        header = self._read_binary(0, DER_HEADER_READ)
        total = der_total_length(header)
        if total <= len(header):
            return header[:total]
        try:
            rest = self._read_binary(len(header), total - len(header))
        except ApduError as exc:
            if exc.sw == StatusWord.WRONG_P1_P2:
                raise CardDataError(f"EF {fid:04X} ends before the {total} bytes its DER header announces") from exc
            raise
        certificate = header + rest
        if len(certificate) < total:
            raise CardDataError(f"EF {fid:04X} is truncated: {len(certificate)} of the {total} bytes in its DER header")
        logger.debug("read certificate EF %04X, %s bytes", fid, total)
        return certificate
