"""JPKI application session (公的個人認証AP) of the My Number Card.

This module owns the application identifiers, the JPKI file identifiers and the command
sequences for the token, both certificates and their CA certificates, the auth PIN, the
signature password and both signatures. It maps the status words those commands
return to domain errors; the commands shared by every AP live in ``mynacard.session``.

The individual number is never read: no function here selects text-AP EF 0001 or
visual-AP EF 0005. Their identifiers are defined only so that tests and the virtual
card can name them.
"""

from __future__ import annotations

import logging
import re

from mynacard.apdu import ApduProtocol
from mynacard.atr import classify_other_card
from mynacard.errors import (
    ANDROID_TOKEN,
    IPHONE_TOKEN,
    MY_NUMBER_CARD_TOKEN,
    ApduError,
    CardDataError,
    FileNotFoundOnCardError,
    InvalidPinFormatError,
    NotMyNumberCardError,
    SecurityStatusNotSatisfiedError,
)
from mynacard.session import (  # noqa: F401 (re-exported for callers of the first slice)
    CLA_ISO,
    CLA_PROPRIETARY,
    INS_COMPUTE_SIGNATURE,
    INS_READ_BINARY,
    INS_SELECT,
    INS_VERIFY,
    MAX_DIGEST_INFO,
    MAX_OFFSET,
    P1_SELECT_DF_NAME,
    P1_SELECT_EF,
    P2_CURRENT_KEY,
    P2_NO_RESPONSE_DATA,
    READ_CHUNK,
    CardSession,
)
from mynacard.status import StatusWord

logger = logging.getLogger(__name__)

JPKI_AID = bytes.fromhex("D392F000260100000001")
TEXT_AP_AID = bytes.fromhex("D3921000310001010408")
VISUAL_AP_AID = bytes.fromhex("D3921000310001010402")

# JPKI AP files. Certificate EFs hold DER followed by filler bytes.
# The signature certificate needs the signature password before it can be read. One
# reverse-engineering source says both certificates read without a PIN, but OpenSC's
# driver, jpki/myna and OpenSC's bug reports with real cards all say it is protected,
# so this follows the majority.
EF_SIGN_CERT = 0x0001
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
SIGN_PASSWORD_MAX_TRIES = 5
TOKEN_LENGTH = 32
DER_HEADER_READ = 4  # enough for "30 82 HH LL", the header of every JPKI certificate

SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")

_PIN_PATTERN = re.compile(r"[0-9]{4}")
# The signature password: 6 to 16 upper-case letters and digits, at least one of each.
_SIGN_PASSWORD_PATTERN = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{6,16}")

SMARTPHONE_TOKENS = frozenset({ANDROID_TOKEN, IPHONE_TOKEN})


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


def normalise_sign_password(password: str) -> bytes:
    """Return the signature password upper-cased as ASCII bytes, as the card stores it.

    Raises InvalidPinFormatError unless it has 6 to 16 letters and digits with at least
    one of each.
    """
    candidate = password.upper() if isinstance(password, str) else ""
    if not _SIGN_PASSWORD_PATTERN.fullmatch(candidate):
        raise InvalidPinFormatError(
            "the signature password must be 6 to 16 letters and digits with at least one of each",
            user_message="署名用パスワードは英大文字と数字を両方含む6〜16文字で入力してください。",
        )
    return candidate.encode("ascii")


class JpkiSession(CardSession):
    """Commands of the JPKI application.

    Call ``select()``, ``ensure_my_number_card()`` or ``ensure_jpki_token()`` first.
    Re-selecting the AP clears the card's security status, so a verified PIN lasts
    until the next ``select()``.
    """

    aid = JPKI_AID
    name = "JPKI AP"

    def __init__(self, protocol: ApduProtocol) -> None:
        super().__init__(protocol)
        self.token: str | None = None

    def select(self) -> None:
        """Select the JPKI AP, or raise NotMyNumberCardError(None) naming what the ATR suggests."""
        try:
            super().select()
        except NotMyNumberCardError as exc:
            card_kind = classify_other_card(self.protocol.connection.atr)
            raise NotMyNumberCardError(None, card_kind) from exc.__cause__

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
        return self.ensure_jpki_token(allow_smartphone=False)

    def ensure_jpki_token(self, *, allow_smartphone: bool = False) -> str:
        """Select the JPKI AP, check the token and return it, accepting smartphone tokens when asked.

        A smartphone (スマホ用電子証明書) holds the auth certificate behind the auth PIN,
        so callers that allow it must use ``read_auth_certificate_with_pin``.
        """
        self.select()
        try:
            token = self.read_token()
        except FileNotFoundOnCardError as exc:
            raise NotMyNumberCardError(None) from exc
        accepted = token == MY_NUMBER_CARD_TOKEN or (allow_smartphone and token in SMARTPHONE_TOKENS)
        if not accepted:
            raise NotMyNumberCardError(token)
        self.token = token
        logger.info("JPKI token %s identified", token)
        return token

    @property
    def is_smartphone(self) -> bool:
        """Whether the token read by ``ensure_jpki_token`` belongs to a smartphone."""
        return self.token in SMARTPHONE_TOKENS

    def read_auth_certificate(self) -> bytes:
        """Return the DER user-authentication certificate (EF 000A), filler removed.

        On a smartphone the certificate needs the auth PIN first; without it the
        SecurityStatusNotSatisfiedError says so.
        """
        try:
            return self._read_certificate(EF_AUTH_CERT)
        except SecurityStatusNotSatisfiedError as exc:
            raise SecurityStatusNotSatisfiedError(
                "EF 000A needs the auth PIN first, as on a smartphone",
                user_message="スマートフォンの電子証明書は、利用者証明用暗証番号の入力後に読み取ります。",
            ) from exc

    def read_auth_certificate_with_pin(self, pin: str, *, confirm_last_try: bool = False) -> bytes:
        """Verify the auth PIN, then read the auth certificate: the flow a smartphone needs."""
        self.verify_auth_pin(pin, confirm_last_try=confirm_last_try)
        return self.read_auth_certificate()

    def read_auth_ca_certificate(self) -> bytes:
        """Return the DER certificate of the CA that issued the auth certificate (EF 000B)."""
        return self._read_certificate(EF_AUTH_CA_CERT)

    def read_sign_certificate(self) -> bytes:
        """Return the DER signature certificate (EF 0001); the signature password must be verified first."""
        return self._read_certificate(EF_SIGN_CERT)

    def read_sign_ca_certificate(self) -> bytes:
        """Return the DER certificate of the CA that issued the signature certificate (EF 0002)."""
        return self._read_certificate(EF_SIGN_CA_CERT)

    def auth_pin_tries_left(self) -> int:
        """Return the auth PIN's remaining tries without using one (empty VERIFY).

        The result does not show whether the PIN is already verified.
        """
        return self._tries_left(EF_AUTH_PIN, AUTH_PIN_MAX_TRIES)

    def sign_password_tries_left(self) -> int:
        """Return the signature password's remaining tries without using one (empty VERIFY)."""
        return self._tries_left(EF_SIGN_PIN, SIGN_PASSWORD_MAX_TRIES)

    def verify_auth_pin(self, pin: str, *, confirm_last_try: bool = False) -> None:
        """Verify the 4-digit auth PIN (EF 0018).

        Raises InvalidPinFormatError before sending anything when the PIN is not 4 ASCII
        digits, so an empty PIN can never be sent as a verification. The tries left are
        queried first: PinBlockedError is raised at 0 and LastPinTryError at 1 unless
        ``confirm_last_try`` is True, in both cases without sending the PIN. A wrong PIN
        raises WrongPinError with the tries left (0 when this try blocked the PIN).
        """
        validate_pin(pin)
        self._verify(EF_AUTH_PIN, pin.encode("ascii"), "auth PIN", AUTH_PIN_MAX_TRIES, confirm_last_try)

    def verify_sign_password(self, password: str, *, confirm_last_try: bool = False) -> None:
        """Verify the signature password (EF 001B, upper-cased), with the same guards as ``verify_auth_pin``."""
        secret = normalise_sign_password(password)
        self._verify(EF_SIGN_PIN, secret, "signature password", SIGN_PASSWORD_MAX_TRIES, confirm_last_try)

    def sign_with_auth_key(self, digest_info: bytes) -> bytes:
        """Sign a DER DigestInfo with the auth key (EF 0017) and return the RSA signature.

        The card adds the PKCS#1 v1.5 padding. The auth PIN must be verified in this
        AP selection, otherwise SecurityStatusNotSatisfiedError is raised.
        """
        return self._sign(EF_AUTH_KEY, digest_info)

    def sign_with_sign_key(self, digest_info: bytes) -> bytes:
        """Sign a DER DigestInfo with the signature key (EF 001A) after the signature password."""
        return self._sign(EF_SIGN_KEY, digest_info)

    def _sign(self, key_fid: int, digest_info: bytes) -> bytes:
        if not 1 <= len(digest_info) <= MAX_DIGEST_INFO:
            raise ValueError(f"DigestInfo must be 1..{MAX_DIGEST_INFO} bytes, got {len(digest_info)}")
        self._select_ef(key_fid)
        return self._compute_signature(digest_info, P2_CURRENT_KEY)

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
