"""Staff accounts: creation, password and TOTP checks, lockout and permissions.

Passwords are stored as werkzeug scrypt hashes. Five wrong passwords or codes
in a row lock the account for fifteen minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from werkzeug.security import check_password_hash, generate_password_hash

from hospital_portal import totp
from hospital_portal.models import ROLES, Staff, StaffAuditEntry, db, utcnow
from hospital_portal.logsafe import portal_logger

logger = portal_logger(__name__)

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

# What each role may do. Viewing the emergency summary also needs the account's emergency_view flag.
PERMISSIONS = {
    "doctor": {"answer", "arrival", "outcome", "prepare"},
    "nurse": {"answer", "arrival", "prepare"},
    "clerk": {"prepare"},
}


class StaffError(Exception):
    """A staff account operation failed; ``user_message`` is the Japanese text to show."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass
class NewStaff:
    staff: Staff
    totp_secret: str | None


def create_staff(
    hospital_code: str, login_id: str, display_name: str, role: str, password: str, emergency_view: bool
) -> NewStaff:
    """Create an account; accounts with emergency-view rights get a fresh TOTP secret.

    :raises StaffError: on an unknown role, a short password or a login id already taken
    """
    if role not in ROLES:
        raise StaffError(f"職種が不正です: {role} (doctor, nurse, clerk のいずれか)")

    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"パスワードは {MIN_PASSWORD_LENGTH} 文字以上にしてください。")

    if not login_id.strip() or not display_name.strip():
        raise StaffError("ログインIDと氏名を入力してください。")

    if find_staff(hospital_code, login_id) is not None:
        raise StaffError(f"ログインID {login_id} は既に使われています。")

    secret = totp.new_secret() if emergency_view else None
    staff = Staff(
        hospital_code=hospital_code, login_id=login_id.strip(), display_name=display_name.strip(), role=role,
        password_hash=generate_password_hash(password), emergency_view=emergency_view, totp_secret=secret,
        failed_logins=0, active=True,
    )
    db.session.add(staff)
    db.session.commit()
    logger.info("staff account %s created for hospital %s", staff.id, hospital_code)
    return NewStaff(staff=staff, totp_secret=secret)


def find_staff(hospital_code: str, login_id: str) -> Staff | None:
    return db.session.execute(
        db.select(Staff).where(Staff.hospital_code == hospital_code, Staff.login_id == login_id.strip())
    ).scalar_one_or_none()


def check_password(hospital_code: str, login_id: str, password: str) -> Staff:
    """Return the account when the password matches.

    :raises StaffError: with one message for an unknown id and a wrong password, so ids cannot be probed
    """
    staff = find_staff(hospital_code, login_id)
    if staff is None or not staff.active:
        # Hash anyway so an unknown id takes as long as a wrong password.
        check_password_hash(generate_password_hash("unused-password"), password)
        raise StaffError("ログインIDまたはパスワードが違います。")

    _reject_if_locked(staff)
    if not check_password_hash(staff.password_hash, password):
        _count_failure(staff)
        raise StaffError("ログインIDまたはパスワードが違います。")

    return staff


def check_totp(staff: Staff, code: str, unix_time: float | None = None) -> None:
    """Accept one TOTP code and remember its time step, so the same code cannot be used twice.

    :raises StaffError: on a wrong, reused or expired code, or a locked account
    """
    _reject_if_locked(staff)
    if not staff.totp_secret:
        raise StaffError("二段階認証が設定されていません。管理者に連絡してください。")

    if totp.normalise_code(code) is None:
        raise StaffError("確認コードは認証アプリに表示された数字6桁で入力してください。")

    step = totp.verify(staff.totp_secret, code, unix_time=unix_time, last_used_step=staff.totp_last_step)
    if step is None:
        _count_failure(staff)
        raise StaffError("確認コードが違うか、有効期限が切れています。認証アプリの最新の6桁を入力してください。")

    staff.totp_last_step = step
    staff.failed_logins = 0
    db.session.commit()


def mark_signed_in(staff: Staff) -> None:
    staff.failed_logins = 0
    staff.locked_until = None
    record_audit(staff, "sign_in")


def may(staff: Staff, permission: str) -> bool:
    if permission == "emergency_view":
        return staff.emergency_view

    return permission in PERMISSIONS.get(staff.role, set())


def record_audit(staff: Staff | None, action: str, transfer_id: str | None = None, detail: dict | None = None,
                 hospital_code: str | None = None) -> None:
    entry = StaffAuditEntry(
        hospital_code=staff.hospital_code if staff else (hospital_code or ""), staff_id=staff.id if staff else None,
        action=action, transfer_id=transfer_id, detail=detail,
    )
    db.session.add(entry)
    db.session.commit()


def _reject_if_locked(staff: Staff) -> None:
    if staff.locked_until is None:
        return

    locked_until = staff.locked_until
    if locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=timezone.utc)

    if locked_until > utcnow():
        raise StaffError("ログインに続けて失敗したため、一時的にロックされています。15分後に再度お試しください。")


def _count_failure(staff: Staff) -> None:
    staff.failed_logins += 1
    if staff.failed_logins >= MAX_FAILED_LOGINS:
        staff.locked_until = datetime.now(timezone.utc) + LOCKOUT
        staff.failed_logins = 0
        logger.warning("staff account %s locked after %d failed sign-ins", staff.id, MAX_FAILED_LOGINS)

    db.session.commit()
