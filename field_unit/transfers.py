"""Transfer packets and inquiries: queue the packet, send it, read the hospitals' answers back."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from field_unit import observations, outbox
from field_unit.models import Alert, Incident, InquiryLog, OutboxEvent, SentPacket, db, utcnow
from field_unit.text_input import FIELD_LABELS, contract_message, has_control_characters, strict_int
from hub.client import HubClient
from hub.contract import DECLINE_REASONS, MAX_ETA_MINUTES, SEVERITIES, ContractError, TransferPacket

logger = logging.getLogger(__name__)

INQUIRY_RESULTS = {"accepted": "受入可", "declined": "受入不可", "no_answer": "応答なし"}
# Synchronous sends from a screen stop after this many events so a long backlog
# does not hold the crew's request; the scheduler sends the rest.
SEND_NOW_LIMIT = 50


class TransferError(ValueError):
    """A packet the tablet refuses before queueing; ``user_message`` is Japanese."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InquiryError(ValueError):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def queue_transfer(
    incident: Incident, hospital_codes: list[str], unit_name: str, eta_minutes: int | None, notes: str, packet_id: str | None = None
) -> SentPacket:
    """Store the packet and its outbox event in one commit, then try to send at once.

    ``packet_id`` comes from the form the crew saw, so a second tap or a resent POST
    names the same packet and returns it instead of making a second one.
    """
    packet_id = _checked_packet_id(packet_id)
    existing = db.session.get(SentPacket, packet_id)
    if existing is not None:
        return existing

    packet = build_packet(incident, hospital_codes, unit_name, eta_minutes, notes, packet_id)
    payload = packet.to_dict()
    payload["summary"] = incident.summary
    check_packet(payload)
    row = SentPacket(packet_id=packet.packet_id, incident_id=incident.id, hospital_codes=hospital_codes, payload=payload, status="queued")
    db.session.add(row)
    outbox.enqueue("transfer", packet.packet_id, payload, incident.id)
    try:
        db.session.commit()
    except IntegrityError:
        # The same form was sent twice at once; the other request stored the packet.
        db.session.rollback()
        return db.session.get(SentPacket, packet_id)

    logger.info("transfer packet queued for %d hospital(s)", len(hospital_codes))
    outbox.drain(force=True, limit=SEND_NOW_LIMIT)
    db.session.refresh(row)
    return row


def _checked_packet_id(packet_id: str | None) -> str:
    if not packet_id:
        return str(uuid.uuid4())

    try:
        return str(uuid.UUID(packet_id))
    except ValueError as exc:
        raise TransferError("送信画面を開き直してから送信してください。") from exc


def parse_eta(text: str) -> int | None:
    """到着予定 (minutes from now) as typed: empty means unknown; full-width digits are fine."""
    if not text.strip():
        return None

    minutes = strict_int(text)
    if minutes is None or minutes > MAX_ETA_MINUTES:
        raise TransferError(f"到着予定は0〜{MAX_ETA_MINUTES}分の数字で入力してください。")
    return minutes


def check_packet(payload: dict[str, Any]) -> None:
    """Refuse on the tablet what the hub would refuse, so the crew learns it at once."""
    for key in ("chief_complaint", "unit_name"):
        if has_control_characters(str(payload.get(key) or "")):
            raise TransferError(f"{FIELD_LABELS[key]}に使えない文字(制御文字)があります。内容を直してから送信してください。")

    if has_control_characters(str(payload.get("notes") or ""), multiline=True):
        raise TransferError("備考に使えない文字(制御文字)があります。内容を直してから送信してください。")

    try:
        TransferPacket.from_dict(payload)
    except ContractError as exc:
        raise TransferError(f"{contract_message(exc)}内容を直してから送信してください。") from exc


def build_packet(
    incident: Incident, hospital_codes: list[str], unit_name: str, eta_minutes: int | None, notes: str, packet_id: str | None = None
) -> TransferPacket:
    findings = observations.extra_findings_text(incident.id)
    severity = incident.severity_estimate
    extra = [text for text in (findings, f"推定傷病程度 {SEVERITIES[severity]}" if severity else "") if text]
    return TransferPacket(
        packet_id=packet_id or str(uuid.uuid4()),
        incident_id=incident.id,
        hospital_codes=hospital_codes,
        sent_at=utcnow().isoformat(),
        unit_name=unit_name,
        chief_complaint=incident.chief_complaint or "",
        eta_minutes=eta_minutes,
        grant_id=incident.summary["grant_id"] if incident.summary else None,
        summary=None,
        vitals=observations.as_contract_vitals(incident.id),
        notes="\n".join([notes, *extra]).strip(),
    )


def log_inquiry(incident_id: str, hospital_code: str, hospital_name: str, result: str, reason: str | None) -> InquiryLog:
    """Record one inquiry made by phone or radio; a refusal needs its FDMA reason."""
    if result not in INQUIRY_RESULTS:
        raise InquiryError("照会結果を選んでください。")

    if result == "declined" and reason not in DECLINE_REASONS:
        raise InquiryError("受入不可の理由を選んでください。")

    row = InquiryLog(
        incident_id=incident_id,
        hospital_code=hospital_code,
        hospital_name=hospital_name,
        asked_at=utcnow(),
        result=result,
        reason=reason if result == "declined" else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def inquiries(incident_id: str) -> list[InquiryLog]:
    return list(db.session.execute(db.select(InquiryLog).where(InquiryLog.incident_id == incident_id).order_by(InquiryLog.asked_at, InquiryLog.id)).scalars())


def rejection_reasons(incident_id: str) -> dict[str, str]:
    """Why the hub or the tablet refused each rejected packet of the incident, in Japanese."""
    rows = db.session.execute(
        db.select(OutboxEvent.idempotency_key, OutboxEvent.last_error).where(
            OutboxEvent.incident_id == incident_id, OutboxEvent.kind == "transfer", OutboxEvent.status == "rejected"
        )
    )
    return {key: (error or "").split(": ", 1)[-1] for key, error in rows}


def packets(incident_id: str) -> list[SentPacket]:
    return list(db.session.execute(db.select(SentPacket).where(SentPacket.incident_id == incident_id).order_by(SentPacket.created_at)).scalars())


def refresh_answers(client: HubClient, incident_id: str) -> int:
    """Read the hospitals' answers and outcomes from the hub; log each answer once as an inquiry."""
    views = client.sent_transfers(incident_id)
    new_answers = 0
    for view in views:
        row = db.session.get(SentPacket, view.packet.packet_id)
        if row is not None:
            answers = dict(row.answers or {})
            answers[view.hospital_code] = _answer_dict(view)
            row.answers = answers

        if view.status in ("accepted", "declined") and _new_answer(view.transfer_id):
            new_answers += 1
            _log_hub_answer(incident_id, view)

    db.session.commit()
    return new_answers


def _answer_dict(view: Any) -> dict[str, Any]:
    return {
        "status": view.status,
        "reason": view.status_reason,
        "name": view.hospital_name,
        "updated_at": view.updated_at,
        "outcome": view.outcome.to_dict() if view.outcome else None,
    }


def _new_answer(transfer_id: str) -> bool:
    return db.session.execute(db.select(InquiryLog.id).where(InquiryLog.transfer_id == transfer_id)).first() is None


def _log_hub_answer(incident_id: str, view: Any) -> None:
    reason = None
    if view.status_reason in DECLINE_REASONS:
        reason = view.status_reason
    elif view.status == "declined":
        reason = "other"

    db.session.add(
        InquiryLog(
            incident_id=incident_id,
            hospital_code=view.hospital_code,
            hospital_name=view.hospital_name,
            asked_at=utcnow(),
            result=view.status,
            reason=reason,
            transfer_id=view.transfer_id,
        )
    )
    if view.status == "accepted":
        message = f"{view.hospital_name or view.hospital_code} が受入可と回答しました。"
    else:
        message = f"{view.hospital_name or view.hospital_code} が受入不可と回答しました({DECLINE_REASONS.get(reason or '', 'その他')})。"
    db.session.add(Alert(incident_id=incident_id, level="success" if view.status == "accepted" else "error", message=message))
