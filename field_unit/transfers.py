"""Transfer packets and inquiries: queue the packet, send it, read the hospitals' answers back."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from field_unit import observations, outbox
from field_unit.models import Alert, Incident, InquiryLog, SentPacket, db, utcnow
from hub.client import HubClient
from hub.contract import DECLINE_REASONS, SEVERITIES, TransferPacket

logger = logging.getLogger(__name__)

INQUIRY_RESULTS = {"accepted": "受入可", "declined": "受入不可", "no_answer": "応答なし"}
# Synchronous sends from a screen stop after this many events so a long backlog
# does not hold the crew's request; the scheduler sends the rest.
SEND_NOW_LIMIT = 50


class InquiryError(ValueError):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def queue_transfer(incident: Incident, hospital_codes: list[str], unit_name: str, eta_minutes: int | None, notes: str) -> SentPacket:
    """Store the packet and its outbox event in one commit, then try to send at once."""
    packet = build_packet(incident, hospital_codes, unit_name, eta_minutes, notes)
    payload = packet.to_dict()
    payload["summary"] = incident.summary
    row = SentPacket(packet_id=packet.packet_id, incident_id=incident.id, hospital_codes=hospital_codes, payload=payload, status="queued")
    db.session.add(row)
    outbox.enqueue("transfer", packet.packet_id, payload, incident.id)
    db.session.commit()
    logger.info("transfer packet %s queued for %d hospital(s)", packet.packet_id, len(hospital_codes))

    outbox.drain(force=True, limit=SEND_NOW_LIMIT)
    db.session.refresh(row)
    return row


def build_packet(incident: Incident, hospital_codes: list[str], unit_name: str, eta_minutes: int | None, notes: str) -> TransferPacket:
    findings = observations.extra_findings_text(incident.id)
    severity = incident.severity_estimate
    extra = [text for text in (findings, f"推定傷病程度 {SEVERITIES[severity]}" if severity else "") if text]
    return TransferPacket(
        packet_id=str(uuid.uuid4()),
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
    reason = view.status_reason if view.status_reason in DECLINE_REASONS else ("other" if view.status == "declined" else None)
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
