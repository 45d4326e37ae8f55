"""TOTP one-time passwords (RFC 6238) on HOTP (RFC 4226), for the staff second factor.

Owns code generation and verification with a small clock-drift window. Secrets
travel as unpadded base32 so authenticator apps can read the ``otpauth://`` URI.
Only HMAC-SHA1 is offered to apps, because that is what they all support.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import re
import struct
import time
import unicodedata
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6

# str.isdigit() also accepts superscripts and other scripts' digits, so match ASCII explicitly.
_CODE_PATTERN = re.compile(rf"[0-9]{{{DIGITS}}}")


def new_secret() -> str:
    """Return a random 160-bit secret as base32 without padding (RFC 4226 recommends 160 bits)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Compute the HOTP value of ``counter`` (RFC 4226 section 5.3, dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def time_step(unix_time: float, step_seconds: int = STEP_SECONDS) -> int:
    return int(unix_time // step_seconds)


def totp(key: bytes, unix_time: float, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Compute the TOTP value at ``unix_time`` with T0 = 0 and a 30-second step (RFC 6238 section 4)."""
    return hotp(key, time_step(unix_time), digits, digest)


def decode_secret(secret: str) -> bytes:
    """Decode a base32 secret, tolerating lower case, spaces and missing padding.

    :raises ValueError: when the text is not base32
    """
    cleaned = secret.replace(" ", "").upper()
    padding = "=" * (-len(cleaned) % 8)
    return base64.b32decode(cleaned + padding)


def verify(secret: str, code: str, unix_time: float | None = None, last_used_step: int | None = None, window: int = 1) -> int | None:
    """Check a 6-digit code against the steps around ``unix_time``.

    :param last_used_step: the step of the last accepted code; this step and
        older ones are rejected so a code cannot be replayed
    :param window: steps accepted on each side, for clock drift
    :return: the matched time step, to store as the new ``last_used_step``, or None
    """
    code = normalise_code(code)
    if code is None:
        return None

    key = decode_secret(secret)
    now = time.time() if unix_time is None else unix_time
    current = time_step(now)

    for step in range(current - window, current + window + 1):
        if last_used_step is not None and step <= last_used_step:
            continue

        if hmac.compare_digest(hotp(key, step), code):
            return step

    return None


def normalise_code(code: str) -> str | None:
    """Return the code as 6 ASCII digits, or None when it is not one.

    NFKC turns full-width digits (as a Japanese IME types them) into ASCII;
    digits of other scripts stay non-ASCII and are rejected.
    """
    cleaned = unicodedata.normalize("NFKC", code).strip().replace(" ", "")
    if not _CODE_PATTERN.fullmatch(cleaned):
        return None

    return cleaned


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """Build the ``otpauth://totp/...`` URI that authenticator apps import (Google Authenticator key URI format)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"
