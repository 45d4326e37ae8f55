"""Users, their passwords and sign-in sessions, and the patient's own sign-in.

Staff and administrators sign in with a password (werkzeug's salted scrypt hash
at rest). A patient signs in with the card: the card signs a hub challenge with
its 利用者証明用 key after the patient's PIN, so no password exists for patients.
Both receive a random bearer token, stored as SHA-256 like device tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import request
from werkzeug.security import check_password_hash, generate_password_hash

from hub.auth import new_token, token_digest
from hub.models import ApiClient, Organization, Patient, User, UserSession, db, utcnow
from hub.problems import ApiProblem, forbidden, unauthorized

SESSION_MINUTES = 60
PATIENT_SESSION_MINUTES = 15
USER_ROLES = ("hospital_staff", "fire_admin")

# A hash to compare against when the login is unknown, so that a wrong login and a
# wrong password take the same time and an attacker cannot list logins.
_DUMMY_HASH = generate_password_hash("not-a-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def create_user(login: str, display_name: str, role: str, organization_code: str, password: str) -> User:
    if role not in USER_ROLES:
        raise ValueError(f"invalid role {role!r}, expected one of {', '.join(USER_ROLES)}")

    user = User(login=login, display_name=display_name, role=role, organization_code=organization_code,
                password_hash=hash_password(password))
    db.session.add(user)
    return user


def sign_in(login: str, password: str) -> tuple[UserSession, str]:
    """Check the password and open a session; return the row and its bearer token."""
    user = db.session.execute(db.select(User).where(User.login == login)).scalar_one_or_none()
    stored_hash = user.password_hash if user is not None else _DUMMY_HASH
    if not check_password_hash(stored_hash, password) or user is None:
        raise ApiProblem(401, "invalid_credentials", "ログイン名またはパスワードが正しくありません。")

    return _open_session(user_id=user.id, minutes=SESSION_MINUTES)


def open_patient_session(patient: Patient) -> tuple[UserSession, str]:
    return _open_session(patient_id=patient.id, minutes=PATIENT_SESSION_MINUTES)


def _open_session(minutes: int, user_id: int | None = None, patient_id: int | None = None) -> tuple[UserSession, str]:
    token = new_token()
    now = utcnow()
    session = UserSession(token_sha256=token_digest(token), user_id=user_id, patient_id=patient_id, created_at=now,
                          expires_at=now + timedelta(minutes=minutes))
    db.session.add(session)
    return session, token


def _current_session() -> UserSession:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token or not token.isascii():
        raise unauthorized()

    session = db.session.execute(
        db.select(UserSession).where(UserSession.token_sha256 == token_digest(token))
    ).scalar_one_or_none()
    if session is None:
        raise unauthorized()

    if session.expires_at < utcnow():
        raise ApiProblem(401, "session_expired", "ログインの有効期限が切れました。もう一度ログインしてください。")

    return session


def current_user(*roles: str) -> User:
    """Return the signed-in user, checking that the role is one of ``roles``."""
    session = _current_session()
    if session.user_id is None:
        raise forbidden()

    user = db.session.get(User, session.user_id)
    if user is None or (roles and user.role not in roles):
        raise forbidden()

    return user


def current_patient() -> Patient:
    session = _current_session()
    if session.patient_id is None:
        raise forbidden()

    return db.session.get(Patient, session.patient_id)


def fire_department_of(organization_code: str) -> str | None:
    """Walk up from a unit or station to its fire department; None when there is none."""
    seen = set()
    code: str | None = organization_code
    while code is not None and code not in seen:
        seen.add(code)
        organization = db.session.execute(db.select(Organization).where(Organization.code == code)).scalar_one_or_none()
        if organization is None:
            return None

        if organization.kind == "fire_department":
            return organization.code

        code = organization.parent_code

    return None


@dataclass(frozen=True)
class HospitalCaller:
    """Who called a hospital endpoint: the hospital system's token or a signed-in staff member."""

    name: str
    organization_code: str


def current_hospital() -> HospitalCaller:
    """Accept the hospital system's bearer token or the session of a ``hospital_staff`` user.

    Both see only their own hospital's packets. Any other client or user role gets 403.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token or not token.isascii():
        raise unauthorized()

    client = db.session.execute(
        db.select(ApiClient).where(ApiClient.token_sha256 == token_digest(token))
    ).scalar_one_or_none()
    if client is not None:
        if client.role != "hospital":
            raise forbidden()

        return HospitalCaller(client.name, client.organization_code)

    user = current_user("hospital_staff")
    return HospitalCaller(f"user:{user.login}", user.organization_code)
