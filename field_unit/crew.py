"""Crew sign-in per shift, the automatic screen lock and device registration.

The unlock code is a 4 to 8 digit number chosen at sign-in, kept only as a PBKDF2
hash. The lock is enforced on the server: a request after LOCK_SECONDS without crew
activity is sent to the lock screen, whatever the browser does.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time

from flask import current_app, session

from field_unit.card_face import forget_all_views
from field_unit.hub_link import hub_reachable
from field_unit.models import CrewShift, DeviceRegistration, db, utcnow
from field_unit.text_input import normalized
from hub.client import HubClient, HubError

PBKDF2_ITERATIONS = 200_000
_CODE_PATTERN = re.compile(r"^[0-9]{4,8}$")
NAME_MAX_LENGTH = 40
MEMBERS_MAX_LENGTH = 200


class CrewError(ValueError):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def hash_code(code: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode("ascii"), salt, PBKDF2_ITERATIONS)
    return f"pbkdf2${PBKDF2_ITERATIONS}${salt.hex()}${digest.hex()}"


def unlock_code(typed: str) -> str:
    """The code as the crew meant it: full-width digits (２４６８) and stray spaces or newlines removed."""
    return normalized(typed)


def check_code(code: str, stored: str) -> bool:
    if not _CODE_PATTERN.match(code):
        return False

    _, iterations, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", code.encode("ascii"), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest.hex(), digest_hex)


def active_shift() -> CrewShift | None:
    return db.session.execute(db.select(CrewShift).where(CrewShift.ended_at.is_(None)).order_by(CrewShift.id.desc()).limit(1)).scalar_one_or_none()


def sign_in(unit_name: str, leader_name: str, members: str, code: str) -> CrewShift:
    """Start a shift, ending any earlier one."""
    if not unit_name.strip() or not leader_name.strip():
        raise CrewError("隊名と隊長名を入力してください。")

    if len(unit_name.strip()) > NAME_MAX_LENGTH or len(leader_name.strip()) > NAME_MAX_LENGTH:
        raise CrewError(f"隊名と隊長名はそれぞれ{NAME_MAX_LENGTH}文字以内で入力してください。")

    if len(members.strip()) > MEMBERS_MAX_LENGTH:
        raise CrewError(f"隊員は{MEMBERS_MAX_LENGTH}文字以内で入力してください。")

    code = unlock_code(code)
    if not _CODE_PATTERN.match(code):
        raise CrewError("解除番号は4〜8桁の数字で入力してください。")

    for shift in db.session.execute(db.select(CrewShift).where(CrewShift.ended_at.is_(None))).scalars():
        shift.ended_at = utcnow()

    shift = CrewShift(unit_name=unit_name.strip(), leader_name=leader_name.strip(), members=members.strip(), unlock_hash=hash_code(code))
    db.session.add(shift)
    db.session.commit()
    session["shift_id"] = shift.id
    touch()
    return shift


def sign_out() -> None:
    shift = active_shift()
    if shift is not None:
        shift.ended_at = utcnow()
        db.session.commit()
    forget_all_views()
    session.clear()


def unlock(code: str) -> None:
    shift = active_shift()
    if shift is None or not check_code(unlock_code(code), shift.unlock_hash):
        raise CrewError("解除番号が違います。")

    session["shift_id"] = shift.id
    session.pop("locked", None)
    touch()


def touch() -> None:
    session["last_activity"] = time.time()


def is_locked() -> bool:
    if session.get("locked"):
        return True

    last = session.get("last_activity")
    if last is None or time.time() - float(last) > current_app.config["LOCK_SECONDS"]:
        session["locked"] = True
        return True

    return False


def register_device(hub_url: str, token: str) -> DeviceRegistration:
    """Store the hub URL and device token after checking the hub accepts the token."""
    hub_url = hub_url.strip().rstrip("/")
    token = token.strip()
    if not hub_url.startswith(("http://", "https://")) or not token:
        raise CrewError("ハブのURLと端末トークンを入力してください。")

    timeout = current_app.config["HUB_TIMEOUT_SECONDS"]
    if not hub_reachable(hub_url, timeout):
        raise CrewError("ハブに接続できません。通信状態とURLを確認してください。登録は通信できる場所で行ってください。")

    try:
        HubClient(hub_url, token, timeout=timeout).list_hospitals()
    except HubError as exc:
        raise CrewError(f"端末トークンを確認できませんでした: {exc.user_message}") from exc

    row = db.session.get(DeviceRegistration, 1) or DeviceRegistration(id=1, hub_url=hub_url)
    row.hub_url = hub_url
    row.token = token
    row.registered_at = utcnow()
    db.session.add(row)
    db.session.commit()
    return row
