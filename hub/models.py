"""Database models of the hub.

Times are stored in UTC. Patient data lives in the record tables; the card
link table maps a 利用者証明用 (user-authentication) certificate, by issuer and
serial number, to an insured person. The individual number (個人番号) has no
column anywhere, by design.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, ForeignKey, String, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC moment stored without zone, returned timezone-aware on every backend.

    SQLite keeps no zone and PostgreSQL's ``timestamp`` would shift an aware value
    into the session's zone, so values are converted to naive UTC before storing.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC times only")

        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    registry = registry(type_annotation_map={datetime: UtcDateTime})


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Organization(db.Model):  # type: ignore[name-defined]
    """A fire department, a station, an ambulance unit or a hospital."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    emergency_designated: Mapped[bool] = mapped_column(default=False)
    parent_code: Mapped[str | None] = mapped_column(String(32))
    # Hospitals only, from the Hokkaido hospital list: 診療科 names, bed count, acute stroke care.
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    beds: Mapped[int | None]
    stroke_care: Mapped[bool] = mapped_column(default=False)


class ApiClient(db.Model):  # type: ignore[name-defined]
    """A device or system that calls the API with a bearer token.

    Tokens are 256-bit random values, so a plain SHA-256 of the token is enough
    to store them safely; a slow password hash would add latency and nothing else.
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(24))
    organization_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)


class Patient(db.Model):  # type: ignore[name-defined]
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_key: Mapped[str] = mapped_column(String(40), unique=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    family_kana: Mapped[str] = mapped_column(String(100))
    given_kana: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    address: Mapped[str] = mapped_column(String(400))
    dialysis: Mapped[bool] = mapped_column(default=False)
    last_checkup_on: Mapped[date | None]
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class Insurance(db.Model):  # type: ignore[name-defined]
    """資格情報: insurance qualification of one patient."""

    __tablename__ = "insurances"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    insurer_number: Mapped[str] = mapped_column(String(8))
    insurer_name: Mapped[str] = mapped_column(String(200))
    symbol: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(40))
    branch: Mapped[str] = mapped_column(String(2))
    relationship: Mapped[str] = mapped_column(String(8))
    copay_ratio: Mapped[int]
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    limit_category: Mapped[str | None] = mapped_column(String(8))
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class CardLink(db.Model):  # type: ignore[name-defined]
    """Links a user-authentication certificate to the insured person."""

    __tablename__ = "card_links"
    __table_args__ = (UniqueConstraint("issuer", "serial_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(400))
    serial_hex: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Drug(db.Model):  # type: ignore[name-defined]
    """The MHLW drug price list (薬価基準収載品目), keyed by its 12-character code."""

    __tablename__ = "drugs"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    ingredient: Mapped[str] = mapped_column(String(300))


class Visit(db.Model):  # type: ignore[name-defined]
    """受診歴: one visit of a patient to a medical institution."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    hospital_code: Mapped[str] = mapped_column(String(32))
    hospital_name: Mapped[str] = mapped_column(String(200))
    visited_on: Mapped[date]
    department: Mapped[str] = mapped_column(String(100))
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class Medication(db.Model):  # type: ignore[name-defined]
    """薬剤情報: a dispensed drug, from claims or from an 電子処方箋 (e-prescription)."""

    __tablename__ = "medications"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug_code: Mapped[str] = mapped_column(String(12))
    drug_name: Mapped[str] = mapped_column(String(300))
    ingredient: Mapped[str] = mapped_column(String(300))
    dispensed_on: Mapped[date]
    days: Mapped[int]
    dose: Mapped[str] = mapped_column(String(200))
    hospital_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    # 投与経路 (route): 内服 (oral), 外用 (topical), 注射 (injection). 重複投薬 compares it.
    route: Mapped[str] = mapped_column(String(16), default="内服")
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class ClinicalItem(db.Model):  # type: ignore[name-defined]
    """An item listed by name and date.

    ``category`` is one of ``condition`` (傷病名), ``allergy``, ``infection``
    (感染症), ``surgery`` (手術) or ``dialysis`` (透析, one row per session or claim).
    """

    __tablename__ = "clinical_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    recorded_on: Mapped[date | None]
    detail: Mapped[str | None] = mapped_column(String(300))
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class Checkup(db.Model):  # type: ignore[name-defined]
    """特定健診 (specific health check-up): the summary shows the date only, detail views the results."""

    __tablename__ = "checkups"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    checked_on: Mapped[date]
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    import_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class ConsentGrant(db.Model):  # type: ignore[name-defined]
    """Permission to release one patient's data for one incident to one unit.

    ``request_id`` is the field unit's idempotency key of the summary request that
    created the grant; a repeat of that request gets this grant back.
    """

    __tablename__ = "consent_grants"
    __table_args__ = (UniqueConstraint("client_id", "request_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    mode: Mapped[str] = mapped_column(String(16))
    emergency_reason: Mapped[str | None] = mapped_column(String(32))
    needs_review: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    review_note: Mapped[str | None] = mapped_column(String(400))
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One access to patient data. Append-only, and each row hashes the previous one.

    ``previous_hash`` is unique, so two writers that read the same chain head cannot
    both append: the second insert fails instead of forking the chain.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    organization_code: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64), unique=True)
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Transfer(db.Model):  # type: ignore[name-defined]
    """One transfer packet as addressed to one hospital."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("packet_id", "hospital_code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    packet_id: Mapped[str] = mapped_column(String(64), index=True)
    hospital_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), index=True)
    sender_client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    status: Mapped[str] = mapped_column(String(16), default="sent")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PinChallenge(db.Model):  # type: ignore[name-defined]
    """A single-use random challenge that the card signs after the patient's PIN."""

    __tablename__ = "pin_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # None for a patient's sign-in challenge, which no device requested.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    nonce_hex: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class IncidentReport(db.Model):  # type: ignore[name-defined]
    """A de-identified incident record sent by a field unit, for statistics."""

    __tablename__ = "incident_reports"
    __table_args__ = (UniqueConstraint("client_id", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    fire_department_code: Mapped[str] = mapped_column(String(32), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(db.Model):  # type: ignore[name-defined]
    """A person who signs in: hospital staff or a fire-department administrator.

    Passwords are stored as werkzeug's salted scrypt hash, never in clear.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))
    organization_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(db.Model):  # type: ignore[name-defined]
    """A bearer token issued at sign-in, to a user or to a patient, stored as SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class BenchmarkRow(db.Model):  # type: ignore[name-defined]
    """Rows written by the bare benchmark endpoint, which exists only when benchmarking is enabled."""

    __tablename__ = "benchmark_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_code: Mapped[str] = mapped_column(String(32), index=True)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
