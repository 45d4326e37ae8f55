"""The hub's JSON API under /api/v1: summaries, hospitals and transfers."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError

from hub import consent
from hub.accounts import HospitalCaller, current_hospital
from hub.audit import AuditEntry, commit_with_audit
from hub.auth import current_client
from hub.contract import (
    API_PREFIX,
    Summary,
    DECLINE_REASONS,
    ContractError,
    IncidentReport,
    SummaryRequest,
    TransferOutcome,
    TransferPacket,
)
from hub.documents.fhir import summary_bundle
from hub.identity import check_not_revoked, decode_certificate, unlinked_card, verify_card
from hub.models import ApiClient, BenchmarkRow, CardLink, ConsentGrant, IncidentReport as IncidentReportRow, Organization, Transfer, db, utcnow
from hub.problems import ApiProblem, bad_request, not_found
from hub.prescription_checks import ContraindicationRule, load_rules
from hub.summary import SummaryGrant, build_summary, find_subject, load_records

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

LEGAL_BASIS = {
    "pin": "consent_pin",
    "verbal": "consent_verbal",
    "emergency": "vital_interest",
}

# Statuses a hospital may set, and what each may follow.
HOSPITAL_TRANSITIONS = {
    "viewed": {"sent", "delivered"},
    "accepted": {"sent", "delivered", "viewed"},
    "declined": {"sent", "delivered", "viewed"},
    "arrived": {"accepted"},
    "handed_over": {"arrived", "accepted"},
}


@bp.get("/health")
def health() -> Any:
    return jsonify({"status": "ok"})


@bp.post("/bench/bare")
def bench_bare() -> Any:
    """Benchmark baseline: one indexed read (the token lookup) and one insert. Off unless BENCHMARK_ENDPOINT."""
    if not current_app.config.get("BENCHMARK_ENDPOINT"):
        raise not_found("エンドポイント")

    client = current_client("device")
    db.session.add(BenchmarkRow(organization_code=client.organization_code))
    db.session.commit()
    return jsonify({"status": "ok"})


@bp.get("/hospitals")
def hospitals() -> Any:
    current_client("device", "hospital")
    rows = db.session.execute(
        db.select(Organization).where(Organization.kind == "hospital").order_by(Organization.code)
    ).scalars()
    return jsonify({"hospitals": [_hospital_dict(row) for row in rows]})


@bp.post("/challenges")
def create_challenge() -> Any:
    client = current_client("device")
    return jsonify(consent.new_challenge(client).to_dict()), 201


@bp.post("/summaries")
def request_summary() -> Any:
    client = current_client("device")
    summary_request = _parse(SummaryRequest)

    certificate_der = decode_certificate(summary_request.certificate_der_b64)
    certificate = verify_card(certificate_der, current_app.config["TRUST_DIR"])
    check_not_revoked(certificate, current_app.config["CRL_DIR"], current_app.config["TRUST_DIR"])
    subject = find_subject(certificate.issuer, certificate.serial_hex, client.id, summary_request.request_id)
    if subject is None:
        raise unlinked_card()

    if subject.earlier_grant_id is not None:
        return _redeliver_summary(client, summary_request, subject, certificate.serial_hex)

    if summary_request.consent_mode == "pin":
        consent.check_pin_signature(client, summary_request, certificate_der)

    # Read the records before the grant is added to the session, so that its
    # insert is flushed with the audit append rather than before the reads.
    today = datetime.now(timezone.utc).date()
    records = load_records(subject.id, today)
    grant = consent.new_grant(client, subject.id, summary_request, current_app.config["GRANT_MINUTES"])
    shown_grant = SummaryGrant(id=grant.id, expires_at=grant.expires_at, mode=grant.mode)
    summary = build_summary(subject, records, shown_grant, today, _rules())

    try:
        commit_with_audit(_summary_audit_entry(client, subject.id, shown_grant, summary_request, certificate.serial_hex))
    except IntegrityError:
        # A concurrent request with the same request_id stored its grant first,
        # so this one becomes its re-delivery. Any other conflict is raised again.
        db.session.rollback()
        subject = find_subject(certificate.issuer, certificate.serial_hex, client.id, summary_request.request_id)
        if summary_request.request_id is None or subject is None or subject.earlier_grant_id is None:
            raise

        return _redeliver_summary(client, summary_request, subject, certificate.serial_hex)

    # The committed grant's attributes are expired; reading them would cost a query.
    logger.info("summary released under grant %s (mode %s)", shown_grant.id, shown_grant.mode)
    return jsonify(summary.to_dict())


def _redeliver_summary(client: ApiClient, summary_request: SummaryRequest, subject: Row, certificate_serial: str) -> Any:
    """Return the summary of the grant an earlier request_id created, rebuilt from the current records, and audit it.

    The summary is built again rather than stored: the hub keeps no copy of
    released summaries. The PIN challenge is not checked again, because it was
    consumed by the first request.
    """
    same_request = (
        subject.earlier_grant_patient_id == subject.id
        and subject.earlier_grant_incident_id == summary_request.incident_id
        and subject.earlier_grant_mode == summary_request.consent_mode
    )
    if not same_request:
        logger.warning("request_id %s of client %s reused for a different summary request", summary_request.request_id, client.name)
        raise ApiProblem(409, "request_id_reused", "同じ要求IDで別の要求が送られました。新しい要求IDで送り直してください。")

    expires_at = subject.earlier_grant_expires_at
    if subject.earlier_grant_revoked_at is not None or expires_at <= utcnow():
        logger.info("re-delivery of grant %s rejected: grant revoked or expired", subject.earlier_grant_id)
        raise ApiProblem(403, "grant_not_valid", "この要求の同意は取り消されたか有効期限が切れています。もう一度同意を取得してください。")

    today = datetime.now(timezone.utc).date()
    shown_grant = SummaryGrant(id=subject.earlier_grant_id, expires_at=expires_at, mode=subject.earlier_grant_mode)
    summary = build_summary(subject, load_records(subject.id, today), shown_grant, today, _rules())
    commit_with_audit(
        _summary_audit_entry(client, subject.id, shown_grant, summary_request, certificate_serial, redelivery=True)
    )
    logger.info("summary re-delivered under grant %s", shown_grant.id)
    return jsonify(summary.to_dict())


def _summary_audit_entry(
    client: ApiClient,
    patient_id: int,
    grant: SummaryGrant,
    summary_request: SummaryRequest,
    certificate_serial: str,
    redelivery: bool = False,
) -> AuditEntry:
    detail: dict[str, Any] = {"grant_id": grant.id, "incident_id": summary_request.incident_id,
                              "certificate_serial": certificate_serial}
    if summary_request.request_id is not None:
        detail["request_id"] = summary_request.request_id

    if redelivery:
        # The same grant's summary was sent again for a repeated request_id.
        detail["redelivery"] = True

    return AuditEntry(
        actor=client.name,
        organization_code=client.organization_code,
        patient_id=patient_id,
        action="view_summary",
        legal_basis=LEGAL_BASIS[grant.mode],
        detail=detail,
    )


def _rules() -> tuple[ContraindicationRule, ...]:
    return load_rules(current_app.config["RULES_FILE"])


@bp.post("/transfers")
def send_transfer() -> Any:
    client = current_client("device")
    packet = _parse(TransferPacket)

    existing = _transfers_of_packet(packet.packet_id)
    if existing and any(row.sender_client_id != client.id for row in existing):
        # Never echo another device's packet, because it contains patient data.
        logger.warning("packet id %s reused by client %s, which did not send it", packet.packet_id, client.name)
        raise ApiProblem(409, "packet_id_conflict", "この搬送連絡の ID は既に使われています。新しい搬送連絡として送り直してください。")

    if existing:
        return jsonify({"transfers": [_transfer_dict(row) for row in existing]}), 200

    grant = _grant_for_packet(client, packet)
    packet = _with_hub_summary(client, packet, grant)
    hospitals = _addressed_hospitals(packet.hospital_codes)
    rows = [_new_transfer(client, packet, grant, hospital) for hospital in hospitals]
    db.session.add_all(rows)

    try:
        commit_with_audit(_forward_audit_entry(client, packet, grant))
    except IntegrityError:
        # A concurrent retry of the same packet won the insert, so respond with its rows.
        db.session.rollback()
        return jsonify({"transfers": [_transfer_dict(row) for row in _transfers_of_packet(packet.packet_id)]}), 200

    logger.info("transfer packet %s forwarded to %d hospital(s)", packet.packet_id, len(rows))
    return jsonify({"transfers": [_transfer_dict(row) for row in rows]}), 201


@bp.get("/transfers")
def inbox() -> Any:
    client = current_hospital()
    rows = list(
        db.session.execute(
            db.select(Transfer)
            .where(Transfer.hospital_code == client.organization_code)
            .order_by(Transfer.created_at.desc())
        ).scalars()
    )

    delivered = [row for row in rows if row.status == "sent"]
    for row in delivered:
        row.status = "delivered"
        row.updated_at = utcnow()

    if delivered:
        commit_with_audit(
            AuditEntry(
                actor=client.name,
                organization_code=client.organization_code,
                patient_id=None,
                action="deliver_transfers",
                legal_basis="transfer_of_care",
                detail={"transfer_ids": [row.id for row in delivered]},
            )
        )

    return jsonify({"transfers": [_transfer_dict(row) for row in rows]})


@bp.get("/transfers/sent")
def sent_transfers() -> Any:
    client = current_client("device")
    query = db.select(Transfer).where(Transfer.sender_client_id == client.id)
    incident_id = request.args.get("incident_id")
    if incident_id:
        query = query.where(Transfer.payload["incident_id"].as_string() == incident_id)

    rows = db.session.execute(query.order_by(Transfer.created_at.desc())).scalars()
    return jsonify({"transfers": [_transfer_dict(row) for row in rows]})


@bp.post("/transfers/<transfer_id>/outcome")
def record_outcome(transfer_id: str) -> Any:
    client = current_hospital()
    outcome = _parse(TransferOutcome)
    row = _own_transfer(client, transfer_id)

    row.outcome = outcome.to_dict()
    row.updated_at = utcnow()
    commit_with_audit(
        AuditEntry(
            actor=client.name,
            organization_code=client.organization_code,
            patient_id=row.patient_id,
            action="record_outcome",
            legal_basis="transfer_of_care",
            detail={"transfer_id": row.id},
        )
    )
    return jsonify(_transfer_dict(row))


@bp.get("/transfers/<transfer_id>/fhir")
def transfer_fhir(transfer_id: str) -> Any:
    """Serve one addressed packet as a FHIR document Bundle (IPS-shaped, JP Core conventions)."""
    client = current_hospital()
    row = _own_transfer(client, transfer_id)
    packet = TransferPacket.from_dict(row.payload)
    if packet.summary is None:
        raise ApiProblem(404, "no_summary", "この搬送連絡には救急用サマリーが含まれていないため、FHIR 文書を作成できません。")

    bundle = summary_bundle(packet.summary, packet)
    commit_with_audit(
        AuditEntry(
            actor=client.name,
            organization_code=client.organization_code,
            patient_id=row.patient_id,
            action="view_transfer_fhir",
            legal_basis="transfer_of_care",
            detail={"transfer_id": row.id},
        )
    )
    response = jsonify(bundle)
    response.mimetype = "application/fhir+json"
    return response


@bp.post("/incident-reports")
def receive_incident_report() -> Any:
    client = current_client("device")
    report = _parse(IncidentReport)

    row = db.session.execute(
        db.select(IncidentReportRow).where(
            IncidentReportRow.client_id == client.id, IncidentReportRow.incident_id == report.incident_id
        )
    ).scalar_one_or_none()
    created = row is None
    if row is None:
        row = IncidentReportRow(incident_id=report.incident_id, client_id=client.id)
        db.session.add(row)

    row.fire_department_code = client.organization_code
    row.payload = report.to_dict()
    row.received_at = utcnow()
    db.session.commit()
    return jsonify({"incident_id": report.incident_id}), 201 if created else 200


@bp.post("/transfers/<transfer_id>/status")
def update_status(transfer_id: str) -> Any:
    client = current_hospital()
    body = request.get_json(silent=True) or {}
    status = body.get("status")
    if status not in HOSPITAL_TRANSITIONS:
        raise bad_request(f"status must be one of {', '.join(HOSPITAL_TRANSITIONS)}")

    reason = body.get("reason")
    if status == "declined" and reason not in DECLINE_REASONS:
        raise bad_request("受入れ不可の理由を選んでください (" + ", ".join(DECLINE_REASONS.values()) + ")")

    row = _own_transfer(client, transfer_id)
    if row.status not in HOSPITAL_TRANSITIONS[status]:
        raise ApiProblem(409, "invalid_transition", f"現在の状態({row.status})から {status} には変更できません。")

    row.status = status
    row.status_reason = reason if status == "declined" else None
    if status == "accepted":
        _withdraw_other_hospitals(row)
    row.updated_at = utcnow()
    commit_with_audit(
        AuditEntry(
            actor=client.name,
            organization_code=client.organization_code,
            patient_id=row.patient_id,
            action=f"transfer_{status}",
            legal_basis="transfer_of_care",
            detail={"transfer_id": row.id},
        )
    )
    return jsonify(_transfer_dict(row))


def _parse(kind: Any) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("JSON オブジェクトが必要です")

    try:
        return kind.from_dict(body)
    except ContractError as exc:
        problem = ApiProblem(400, "invalid_request", "送信内容に誤りがあります。入力を確認して、もう一度送信してください。")
        problem.extra = {"invalid_field": str(exc)}
        raise problem from exc


def _with_hub_summary(client: ApiClient, packet: TransferPacket, grant: ConsentGrant | None) -> TransferPacket:
    """Replace the tablet's copy of the summary with the hub's own, built under the grant.

    The hospital must see what the hub released, not what a tablet claims it
    released: a changed name or a deleted allergy would otherwise pass through.
    """
    if grant is None:
        return dataclasses.replace(packet, summary=None)

    link = db.session.execute(db.select(CardLink).where(CardLink.patient_id == grant.patient_id).limit(1)).scalar()
    subject = find_subject(link.issuer, link.serial_hex, client.id, None) if link else None
    if subject is None:
        raise ApiProblem(409, "card_unlinked_since_grant", "同意の後にカードの登録が解除されました。傷病者情報なしで送信してください。")

    today = datetime.now(timezone.utc).date()
    shown_grant = SummaryGrant(id=grant.id, expires_at=grant.expires_at, mode=grant.mode)
    summary = build_summary(subject, load_records(grant.patient_id, today), shown_grant, today, _rules())
    return dataclasses.replace(packet, summary=summary)


def _grant_for_packet(client: ApiClient, packet: TransferPacket) -> ConsentGrant | None:
    if packet.summary is None and packet.grant_id is None:
        return None

    grant = db.session.get(ConsentGrant, packet.grant_id) if packet.grant_id else None
    if grant is None or grant.client_id != client.id or grant.incident_id != packet.incident_id:
        raise ApiProblem(403, "no_consent_grant", "この傷病者情報を送信する同意が確認できません。")

    if not consent.grant_is_valid(grant):
        raise ApiProblem(403, "consent_expired", "同意の有効期限が切れています。もう一度カードを読み取ってください。")

    return grant


def _addressed_hospitals(codes: list[str]) -> list[Organization]:
    hospitals = []
    for code in dict.fromkeys(codes):
        hospital = db.session.execute(
            db.select(Organization).where(Organization.code == code, Organization.kind == "hospital")
        ).scalar_one_or_none()
        if hospital is None:
            raise ApiProblem(422, "unknown_hospital", f"送信先の医療機関 {code} が見つかりません。")

        hospitals.append(hospital)

    return hospitals


def _new_transfer(client: ApiClient, packet: TransferPacket, grant: ConsentGrant | None, hospital: Organization) -> Transfer:
    now = utcnow()
    return Transfer(
        id=str(uuid.uuid4()),
        packet_id=packet.packet_id,
        hospital_code=hospital.code,
        sender_client_id=client.id,
        patient_id=grant.patient_id if grant else None,
        status="sent",
        payload=packet.to_dict(),
        created_at=now,
        updated_at=now,
    )


def _forward_audit_entry(client: ApiClient, packet: TransferPacket, grant: ConsentGrant | None) -> AuditEntry:
    return AuditEntry(
        actor=client.name,
        organization_code=client.organization_code,
        patient_id=grant.patient_id if grant else None,
        action="forward_transfer",
        legal_basis=LEGAL_BASIS[grant.mode] if grant else "no_patient_data",
        detail={"packet_id": packet.packet_id, "hospital_codes": packet.hospital_codes, "grant_id": packet.grant_id},
    )


def _withdraw_other_hospitals(accepted: Transfer) -> None:
    """First acceptance wins: the other hospitals asked in parallel lose the patient's data."""
    for other in _transfers_of_packet(accepted.packet_id):
        if other.id != accepted.id and other.status in ("sent", "delivered", "viewed"):
            other.status = "withdrawn"
            other.payload = {**other.payload, "summary": None}
            other.updated_at = utcnow()


def _own_transfer(client: HospitalCaller, transfer_id: str) -> Transfer:
    row = db.session.get(Transfer, transfer_id)
    if row is None or row.hospital_code != client.organization_code:
        raise not_found("搬送連絡")

    return row


def _transfers_of_packet(packet_id: str) -> list[Transfer]:
    return list(db.session.execute(db.select(Transfer).where(Transfer.packet_id == packet_id)).scalars())


def _transfer_dict(row: Transfer) -> dict[str, Any]:
    hospital = db.session.execute(db.select(Organization.name).where(Organization.code == row.hospital_code)).scalar()
    return {
        "transfer_id": row.id,
        "hospital_code": row.hospital_code,
        "hospital_name": hospital or "",
        "status": row.status,
        "status_reason": row.status_reason,
        "outcome": row.outcome,
        "updated_at": row.updated_at.isoformat(),
        "packet": row.payload,
    }


def _hospital_dict(row: Organization) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "address": row.address,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "emergency_designated": row.emergency_designated,
        "departments": list(row.departments or []),
        "beds": row.beds,
        "stroke_care": row.stroke_care,
    }
