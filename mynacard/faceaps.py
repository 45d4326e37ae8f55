"""Sessions for the 券面事項入力補助AP (text AP) and the 券面事項確認AP (visual AP).

This module owns the file identifiers of both card-face APs, their commands
(VERIFY of 照合番号B, reading the records, internal authentication) and the flow
``read_card_face`` that reads and checks everything with 照合番号B:

1. Text AP: verify 照合番号B (EF 0015), read the CV certificate (EF 0004), the
   基本4情報 (EF 0002), the integrity record (EF 0003) and the card key (EF 0007);
   check them; sign a fresh random challenge with the AP key.
2. Visual AP: verify 照合番号B (EF 0012), read the CV certificate (EF 0004) and
   the card face (EF 0002); check them; sign another fresh challenge.

The individual number is never read: nothing here selects text-AP EF 0001 or
visual-AP EF 0005, and 照合番号A is never used. 照合番号B is never logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from mynacard import facedata, tlv
from mynacard.apdu import ApduProtocol
from mynacard.credentials import validate_verification_number_b
from mynacard.errors import CardDataError, CardFaceAlteredError
from mynacard.facedata import BasicFourInfo, CardCaKeys, CardFace
from mynacard.jpki import TEXT_AP_AID, VISUAL_AP_AID
from mynacard.session import P2_DEFAULT_KEY, CardSession

logger = logging.getLogger(__name__)

TEXT_EF_BASIC_FOUR = 0x0002
TEXT_EF_INTEGRITY = 0x0003
TEXT_EF_CV_CERTIFICATE = 0x0004
TEXT_EF_CARD_KEY = 0x0007
TEXT_EF_VERIFICATION_NUMBER_B = 0x0015
VISUAL_EF_FACE = 0x0002
VISUAL_EF_CV_CERTIFICATE = 0x0004
VISUAL_EF_VERIFICATION_NUMBER_B = 0x0012

# NOTE: the try limit of 照合番号B is not documented. The value is used only when the
# card returns 9000 to the retry query, which no card is known to do.
VERIFICATION_NUMBER_MAX_TRIES = 3
CHALLENGE_LENGTH = 32
# Enough for the largest TLV header: a two-byte tag and the length form 83 HH MM LL.
TLV_HEADER_READ = 6
MAX_RECORD_LENGTH = 0x8000  # READ BINARY offsets are 15 bits


class _FaceApSession(CardSession):
    verification_number_b_fid = 0
    cv_certificate_fid = 0

    def verify_verification_number_b(self, value: str, *, confirm_last_try: bool = False) -> None:
        """Verify 照合番号B (14 digits); the same last-try guard as the PINs applies."""
        secret = validate_verification_number_b(value).encode("ascii")
        self._verify(
            self.verification_number_b_fid, secret, "照合番号B", VERIFICATION_NUMBER_MAX_TRIES, confirm_last_try
        )

    def verification_number_b_tries_left(self) -> int:
        """Return the remaining tries of 照合番号B without using one."""
        return self._tries_left(self.verification_number_b_fid, VERIFICATION_NUMBER_MAX_TRIES)

    def read_cv_certificate(self) -> bytes:
        """Read EF 0004, the AP's CV certificate (7F21), without filler."""
        return self.read_record(self.cv_certificate_fid)

    def internal_authenticate(self, challenge: bytes) -> bytes:
        """Have the AP key sign SHA-256(challenge) (80 2A 00 00) and return the signature.

        No credential is needed. The caller checks the signature against the card key
        inside the AP's signed record.
        """
        digest_info = facedata.sha256_digest_info(hashlib.sha256(challenge).digest())
        return self._compute_signature(digest_info, P2_DEFAULT_KEY)

    def read_record(self, fid: int) -> bytes:
        """Select an EF and read the TLV record at its start, leaving the filler unread."""
        self._select_ef(fid)
        header = self._read_binary(0, TLV_HEADER_READ)
        try:
            total = tlv.total_length(header)
        except CardDataError as exc:
            raise CardDataError(f"EF {fid:04X} of the {self.name} does not start with a TLV record: {exc}") from exc
        if total > MAX_RECORD_LENGTH:
            raise CardDataError(f"EF {fid:04X} announces {total} bytes, beyond the 15-bit offset range")
        if total <= len(header):
            return header[:total]
        record = header + self._read_binary(len(header), total - len(header))
        if len(record) < total:
            raise CardDataError(f"EF {fid:04X} is truncated: {len(record)} of the {total} bytes its TLV announces")
        logger.debug("read %s EF %04X, %s bytes", self.name, fid, total)
        return record


class TextApSession(_FaceApSession):
    """Commands of the 券面事項入力補助AP."""

    aid = TEXT_AP_AID
    name = "text AP"
    verification_number_b_fid = TEXT_EF_VERIFICATION_NUMBER_B
    cv_certificate_fid = TEXT_EF_CV_CERTIFICATE


class VisualApSession(_FaceApSession):
    """Commands of the 券面事項確認AP."""

    aid = VISUAL_AP_AID
    name = "visual AP"
    verification_number_b_fid = VISUAL_EF_VERIFICATION_NUMBER_B
    cv_certificate_fid = VISUAL_EF_CV_CERTIFICATE


@dataclass(frozen=True)
class VerifiedCardFace:
    """Card-face data that passed every check: J-LIS certification, signatures and internal authentication.

    ``issuer`` is the printable key ID of the municipality key that signed the records.
    """

    basic_four: BasicFourInfo
    face: CardFace
    issuer: str


def read_card_face(
    protocol: ApduProtocol,
    verification_number_b: str,
    ca_keys: CardCaKeys,
    *,
    confirm_last_try: bool = False,
) -> VerifiedCardFace:
    """Read and check the 基本4情報 and the card face with 照合番号B.

    Raises CardFaceForgedError when a CV certificate is not signed by a pinned CA key,
    CardFaceAlteredError when a record does not match its signature or the two APs
    disagree, and CardClonedError when the chip fails internal authentication.
    PIN-style errors (WrongPinError, LastPinTryError, PinBlockedError) come from the
    VERIFY of 照合番号B in the text AP, which is tried first.
    """
    validate_verification_number_b(verification_number_b)
    text = TextApSession(protocol)
    basic_four, text_issuer = _read_text_ap(text, verification_number_b, ca_keys, confirm_last_try)
    visual = VisualApSession(protocol)
    face, visual_issuer = _read_visual_ap(visual, verification_number_b, ca_keys, confirm_last_try)

    if (basic_four.birth_date, basic_four.sex) != (face.birth_date, face.sex):
        raise CardFaceAlteredError("birth date or sex differs between the text AP and the visual AP")
    if text_issuer != visual_issuer:
        logger.info("text AP and visual AP records were signed by different keys: %s, %s", text_issuer, visual_issuer)
    logger.info("card face read and verified (records signed by %s)", visual_issuer)
    return VerifiedCardFace(basic_four, face, visual_issuer)


def _read_text_ap(
    session: TextApSession, verification_number_b: str, ca_keys: CardCaKeys, confirm_last_try: bool
) -> tuple[BasicFourInfo, str]:
    session.select()
    session.verify_verification_number_b(verification_number_b, confirm_last_try=confirm_last_try)
    certificate = facedata.parse_cv_certificate(session.read_cv_certificate())
    signer = facedata.verify_cv_certificate(certificate, ca_keys)

    basic_four_data = session.read_record(TEXT_EF_BASIC_FOUR)
    basic_four, record = facedata.parse_basic_four(basic_four_data)
    facedata.verify_text_integrity(session.read_record(TEXT_EF_INTEGRITY), record, signer)
    card_key = facedata.verify_text_card_key(session.read_record(TEXT_EF_CARD_KEY), signer)

    challenge = secrets.token_bytes(CHALLENGE_LENGTH)
    facedata.check_internal_authentication(card_key, challenge, session.internal_authenticate(challenge))
    return basic_four, certificate.subject


def _read_visual_ap(
    session: VisualApSession, verification_number_b: str, ca_keys: CardCaKeys, confirm_last_try: bool
) -> tuple[CardFace, str]:
    session.select()
    session.verify_verification_number_b(verification_number_b, confirm_last_try=confirm_last_try)
    certificate = facedata.parse_cv_certificate(session.read_cv_certificate())
    signer = facedata.verify_cv_certificate(certificate, ca_keys)

    face = facedata.verify_card_face(session.read_record(VISUAL_EF_FACE), signer)

    challenge = secrets.token_bytes(CHALLENGE_LENGTH)
    facedata.check_internal_authentication(face.card_key, challenge, session.internal_authenticate(challenge))
    return face, certificate.subject
