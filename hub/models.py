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
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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


class ClinicalItem(db.Model):  # type: ignore[name-defined]
    """A diagnosis, allergy or surgery: the items listed by name and date."""

    __tablename__ = "clinical_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    recorded_on: Mapped[date | None]
    detail: Mapped[str | None] = mapped_column(String(300))


class ConsentGrant(db.Model):  # type: ignore[name-defined]
    """Permission to release one patient's data for one incident to one unit."""

    __tablename__ = "consent_grants"

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


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One access to patient data. Append-only; each row hashes the previous one."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    organization_code: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
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
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
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
