"""The portal's own database: staff accounts, preparation notes and the staff audit trail.

Transfer packets are not stored here. They stay in the hub, and the portal
holds only an in-memory copy of the latest inbox (see :mod:`hospital_portal.inbox`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()

# Staff roles with their Japanese labels.
ROLES = {"doctor": "医師", "nurse": "看護師", "clerk": "事務"}

# Departments (受入診療科) an ER can call for a packet.
DEPARTMENTS = {
    "emergency": "救急科",
    "cardiology": "循環器内科",
    "neurosurgery": "脳神経外科",
    "orthopedics": "整形外科",
    "surgery": "外科",
    "internal": "内科",
    "pediatrics": "小児科",
    "obstetrics": "産婦人科",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Staff(db.Model):
    """An ER staff account, bound to one hospital.

    ``emergency_view`` is the 救急時閲覧権限 (right to view the emergency
    summary). Accounts with it must have a TOTP secret and sign in with it.
    """

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("hospital_code", "login_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(32), nullable=False)
    login_id: Mapped[str] = mapped_column(String(64), nullable=False)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    emergency_view: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, "職種不明")


class PreparationNote(db.Model):
    """A note an ER team writes while it prepares for a patient: the department and team called."""

    __tablename__ = "preparation_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    hospital_code: Mapped[str] = mapped_column(String(32), nullable=False)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), nullable=False)
    department: Mapped[str | None] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class StaffAuditEntry(db.Model):
    """What a staff member did in the portal: sign-in, viewing a packet, answers, exports."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    hospital_code: Mapped[str] = mapped_column(String(32), nullable=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    transfer_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)
