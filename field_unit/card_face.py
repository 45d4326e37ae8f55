"""The optional 照合番号B step: read and check the card face, and keep what it shows in memory only.

照合番号B (the card-face check number) has 14 digits that the crew types from the
card face. They are the birth date as YYMMDD with the year as printed (the era year,
昭和55 for 1980), the expiry year as four Gregorian digits and the 4-digit security code.
The value lives only in the request that carries it and is never logged or stored.

The card core reads the 基本4情報 and the face photo, checks the J-LIS signatures and
runs the chip's internal authentication; a failure tells a forged, altered or cloned
card apart. The name, birth date, sex, address and photo (converted to PNG) are kept
in this process's memory for ``CARD_FACE_SECONDS``, for the shift that read them, and
never written to disk. Only the outcome of the check goes into the incident record.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask import current_app

from field_unit import card_step
from field_unit.models import Incident, db
from mynacard.apdu import ApduProtocol
from mynacard.credentials import era_of, era_year, validate_verification_number_b
from mynacard.errors import (
    CardClonedError,
    CardDataError,
    CardError,
    CardFaceAlteredError,
    CardFaceForgedError,
    InvalidPinFormatError,
    LastPinTryError,
    PinBlockedError,
    WrongPinError,
)
from mynacard.faceaps import VERIFICATION_NUMBER_MAX_TRIES, TextApSession, VerifiedCardFace, read_card_face
from mynacard.facedata import CardCaKeys
from mynacard.faceimages import jp2_to_png

logger = logging.getLogger(__name__)

VIEWS_KEY = "field_unit_card_faces"
NUMBER_B_MAX_TRIES = VERIFICATION_NUMBER_MAX_TRIES
_views_lock = threading.Lock()

# Outcome of the forgery check -> (Japanese text, CSS class of the result banner).
OUTCOMES = {
    "genuine": ("真正なカードです。券面事項の署名とICチップの認証を確認しました。", "success"),
    "forged": (CardFaceForgedError().user_message, "error"),
    "altered": (CardFaceAlteredError().user_message, "error"),
    "cloned": (CardClonedError().user_message, "error"),
}

# Sex codes of the 基本4情報: JIS X 0303, plus 3 for "unknown" as the certificates use it.
SEX_LABELS = {"1": "男性", "2": "女性", "3": "不明", "0": "不明", "9": "適用不能"}

NUMBER_B_BLOCKED = (
    "照合番号Bがロックされています。このカードの券面事項は読み取れません。"
    "券面は目視で確認し、口頭同意で進めるか、カードなしで続けてください。"
)


class CardFaceEntryError(Exception):
    """照合番号B could not be used: bad format, no match, last try unconfirmed, or blocked.

    ``tries_left`` is None when the card was not asked.
    """

    def __init__(self, user_message: str, tries_left: int | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.tries_left = tries_left


@dataclass(frozen=True)
class CardFaceView:
    """Result of one card-face check as the screen shows it.

    The patient fields are None unless ``outcome`` is "genuine", because the card core
    returns no data from a card that fails a check.
    """

    outcome: str
    # Left out of repr() so that a stray log line or traceback cannot carry patient data.
    name: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    sex: str | None = field(default=None, repr=False)
    card_expiry: date | None = field(default=None, repr=False)
    photo_png: bytes | None = field(default=None, repr=False)

    @property
    def outcome_text(self) -> str:
        return OUTCOMES[self.outcome][0]

    @property
    def outcome_class(self) -> str:
        return OUTCOMES[self.outcome][1]

    @property
    def sex_label(self) -> str:
        return SEX_LABELS.get(self.sex or "", "不明")

    @property
    def birth_date_label(self) -> str:
        return japanese_date(self.birth_date) if self.birth_date else "—"


def japanese_date(day: date) -> str:
    """Format a date as the era date with the Gregorian year, for example 昭和55年2月17日(1980年)."""
    year = era_year(day)
    year_text = "元" if year == 1 else str(year)
    return f"{era_of(day).name}{year_text}年{day.month}月{day.day}日({day.year}年)"


def compose_number_b(birth: str, expiry_year: str, security_code: str) -> str:
    """Build 照合番号B from the three parts typed from the card face; raise CardFaceEntryError on a bad part.

    Full-width digits from a Japanese input method are accepted and turned into ASCII.
    """
    birth, expiry_year, security_code = (_ascii_digits(part) for part in (birth, expiry_year, security_code))
    if len(birth) != 6 or not birth.isdigit() or not _plausible_month_day(birth):
        raise CardFaceEntryError("生年月日は券面の年(和暦の年2桁)・月2桁・日2桁の6桁で入力してください(例: 昭和55年2月17日 → 550217)。")

    if len(expiry_year) != 4 or not expiry_year.isdigit():
        raise CardFaceEntryError("有効期限の年は西暦4桁で入力してください(例: 2035)。")

    if len(security_code) != 4 or not security_code.isdigit():
        raise CardFaceEntryError("セキュリティコードは券面に印字された4桁の数字で入力してください。")

    try:
        return validate_verification_number_b(birth + expiry_year + security_code)
    except InvalidPinFormatError as exc:
        raise CardFaceEntryError(exc.user_message) from exc


def _ascii_digits(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _plausible_month_day(birth: str) -> bool:
    month, day = int(birth[2:4]), int(birth[4:6])
    return 1 <= month <= 12 and 1 <= day <= 31


def number_b_tries_left() -> int | None:
    """Return the remaining 照合番号B tries of the text AP, or None when the card cannot be asked."""
    try:
        with card_step.card_connection() as connection:
            session = TextApSession(ApduProtocol(connection))
            session.select()
            return session.verification_number_b_tries_left()
    except CardError as exc:
        logger.info("照合番号B tries not read: %s", type(exc).__name__)
        return None


def check_card_face(incident: Incident, number_b: str, *, confirm_last_try: bool = False) -> CardFaceView:
    """Read and check the card face with 照合番号B and return what the screen shows.

    A forged, altered or cloned card is a result, not an error. Raises
    CardFaceEntryError when 照合番号B is wrong, blocked or at its unconfirmed last try,
    and card_step.CardStepError when the card cannot be read or the tablet lacks the
    pinned J-LIS CA keys.
    """
    ca_keys = _ca_keys()
    try:
        with card_step.card_connection() as connection:
            verified = read_card_face(ApduProtocol(connection), number_b, ca_keys, confirm_last_try=confirm_last_try)
    except (CardFaceForgedError, CardFaceAlteredError, CardClonedError) as exc:
        return _record(incident, CardFaceView(outcome=_outcome_of(exc)))
    except LastPinTryError as exc:
        raise CardFaceEntryError(
            "照合番号Bの残り回数が1回です。間違えるとロックされます。入力を見直し、「最後の1回として照合する」にチェックを入れてください。",
            tries_left=1,
        ) from exc
    except WrongPinError as exc:
        raise _wrong_number(exc.tries_left) from exc
    except PinBlockedError as exc:
        raise CardFaceEntryError(NUMBER_B_BLOCKED, tries_left=0) from exc
    except CardError as exc:
        logger.warning("card-face read failed for incident %s: %s", incident.id, type(exc).__name__)
        raise card_step.CardStepError(exc.user_message, ["retry", "without_card"]) from exc

    return _record(incident, _view_of(verified))


def _ca_keys() -> CardCaKeys:
    trust_dir = current_app.config.get("TRUST_DIR")
    try:
        if not trust_dir:
            raise FileNotFoundError("FIELD_TRUST_DIR is not set")
        return CardCaKeys.from_folder(Path(trust_dir))
    except (FileNotFoundError, ValueError) as exc:
        logger.error("card-face CA keys not loaded from %s: %s", trust_dir, exc)
        raise card_step.CardStepError(
            "券面事項を確認するための鍵がこの端末に設定されていません。管理者に連絡し、カードなしで続けてください。",
            ["without_card"],
        ) from exc


def _wrong_number(tries_left: int) -> CardFaceEntryError:
    if tries_left == 0:
        return CardFaceEntryError("照合番号Bが一致しません。" + NUMBER_B_BLOCKED, tries_left=0)
    return CardFaceEntryError(
        f"照合番号Bが一致しません。生年月日・有効期限の年・セキュリティコードを券面と見比べてください。あと{tries_left}回間違えるとロックされます。",
        tries_left=tries_left,
    )


def _outcome_of(exc: CardError) -> str:
    if isinstance(exc, CardClonedError):
        return "cloned"
    if isinstance(exc, CardFaceAlteredError):
        return "altered"
    return "forged"


def _view_of(verified: VerifiedCardFace) -> CardFaceView:
    try:
        photo_png: bytes | None = jp2_to_png(verified.face.photo_jp2)
    except CardDataError as exc:
        # The signature covers the photo, so an undecodable photo is still the card's own. Show the other fields.
        logger.warning("face photo not converted: %s", exc)
        photo_png = None

    basic = verified.basic_four
    return CardFaceView(
        outcome="genuine",
        name=basic.name,
        address=basic.address,
        birth_date=basic.birth_date,
        sex=basic.sex,
        card_expiry=verified.face.expiry,
        photo_png=photo_png,
    )


def _record(incident: Incident, view: CardFaceView) -> CardFaceView:
    incident.myna = {**(incident.myna or {}), "card_face_check": view.outcome}
    db.session.commit()
    if view.outcome == "genuine":
        logger.info("card face verified for incident %s", incident.id)
    else:
        logger.warning("card-face check for incident %s: %s", incident.id, view.outcome)
    return view


# In-memory views ------------------------------------------------------------------------


def keep_view(incident_id: str, shift_id: int, view: CardFaceView) -> None:
    """Keep the view in memory for the shift that read it, until ``CARD_FACE_SECONDS`` pass."""
    expires = time.monotonic() + current_app.config["CARD_FACE_SECONDS"]
    with _views_lock:
        _views()[incident_id] = (shift_id, expires, view)


def kept_view(incident_id: str, shift_id: int | None) -> CardFaceView | None:
    """Return the view kept for this incident and shift, or None when absent, expired or read by another shift."""
    with _views_lock:
        views = _views()
        entry = views.get(incident_id)
        if entry is None:
            return None

        owner, expires, view = entry
        if time.monotonic() >= expires:
            del views[incident_id]
            return None
    return view if owner == shift_id else None


def forget_view(incident_id: str) -> None:
    with _views_lock:
        _views().pop(incident_id, None)


def forget_all_views() -> None:
    with _views_lock:
        _views().clear()


def _views() -> dict[str, tuple[int, float, CardFaceView]]:
    return current_app.extensions.setdefault(VIEWS_KEY, {})
