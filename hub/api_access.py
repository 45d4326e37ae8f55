"""API of access control: grant revocation, the emergency review list, sign-in and
the patient's own access history."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from hub import accounts, consent
from hub.audit import AuditEntry, commit_with_audit
from hub.auth import current_client
from hub.contract import API_PREFIX, EMERGENCY_REASONS
from hub.identity import check_not_revoked, decode_certificate, linked_patient, verify_card
from hub.models import ApiClient, AuditEvent, ConsentGrant, Organization, db, utcnow
from hub.problems import ApiProblem, bad_request, not_found

logger = logging.getLogger(__name__)

bp = Blueprint("access", __name__, url_prefix=API_PREFIX)

# What each audited action means to the patient reading the access history.
ACTION_LABELS = {
    "view_summary": "救急用サマリーの閲覧",
    "view_detail": "診療・薬剤情報の詳細閲覧",
    "forward_transfer": "搬送先医療機関への送信",
    "view_transfer_fhir": "搬送連絡(FHIR 文書)の取得",
    "record_outcome": "初診時診断の登録",
    "transfer_viewed": "搬送連絡の閲覧",
    "transfer_accepted": "搬送受入れの回答",
    "transfer_declined": "搬送受入れ不可の回答",
    "transfer_arrived": "病院到着の記録",
    "transfer_handed_over": "引継ぎ完了の記録",
    "check_prescription": "処方の重複・併用禁忌チェック",
}
BASIS_LABELS = {
    "consent_pin": "本人の同意(暗証番号)",
    "consent_verbal": "本人の同意(口頭)",
    "vital_interest": "生命・身体の保護のため(同意取得困難)",
    "transfer_of_care": "搬送先医療機関への引継ぎ",
}


@bp.post("/grants/<grant_id>/revoke")
def revoke_grant(grant_id: str) -> Any:
    """Revoke a grant that this device holds, e.g. when the patient withdraws consent."""
    client = current_client("device")
    grant = db.session.get(ConsentGrant, grant_id)
    if grant is None or grant.client_id != client.id:
        raise not_found("同意")

    consent.revoke_grant(grant, client.name)
    db.session.commit()
    logger.info("grant %s revoked by %s", grant.id, client.name)
    return jsonify(_grant_dict(grant))


@bp.get("/emergency-reviews")
def emergency_reviews() -> Any:
    """List the emergency-mode grants of the administrator's own fire department, unreviewed first."""
    user = accounts.current_user("fire_admin")
    rows = db.session.execute(
        db.select(ConsentGrant, ApiClient)
        .join(ApiClient, ApiClient.id == ConsentGrant.client_id)
        .where(ConsentGrant.mode == "emergency")
        .order_by(ConsentGrant.reviewed_at.is_not(None), ConsentGrant.created_at.desc())
    ).all()
    own = [(grant, client) for grant, client in rows if accounts.fire_department_of(client.organization_code) == user.organization_code]
    return jsonify({"reviews": [_review_dict(grant, client) for grant, client in own]})


@bp.post("/emergency-reviews/<grant_id>")
def record_review(grant_id: str) -> Any:
    user = accounts.current_user("fire_admin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("note", ""), str):
        raise bad_request("note は文字列で指定してください")

    grant = db.session.get(ConsentGrant, grant_id)
    client = db.session.get(ApiClient, grant.client_id) if grant is not None else None
    if grant is None or grant.mode != "emergency" or accounts.fire_department_of(client.organization_code) != user.organization_code:
        raise not_found("緊急時閲覧の記録")

    grant.reviewed_at = utcnow()
    grant.reviewed_by = user.login
    grant.review_note = body.get("note", "")[:400]
    grant.needs_review = False
    db.session.commit()
    return jsonify(_review_dict(grant, client))


@bp.post("/sessions")
def sign_in() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("login"), str) or not isinstance(body.get("password"), str):
        raise bad_request("login と password を指定してください")

    session, token = accounts.sign_in(body["login"], body["password"])
    db.session.commit()
    return jsonify({"token": token, "expires_at": session.expires_at.isoformat()}), 201


@bp.post("/patient/challenges")
def patient_challenge() -> Any:
    """Issue a sign-in challenge for a patient; no token is needed, the card proves who signs."""
    return jsonify(consent.new_challenge(None).to_dict()), 201


@bp.post("/patient/sessions")
def patient_sign_in() -> Any:
    body = request.get_json(silent=True)
    fields = ("certificate_der_b64", "challenge_id", "signature_b64")
    if not isinstance(body, dict) or not all(isinstance(body.get(name), str) for name in fields):
        raise bad_request("certificate_der_b64, challenge_id, signature_b64 を指定してください")

    certificate_der = decode_certificate(body["certificate_der_b64"])
    certificate = verify_card(certificate_der, current_app.config["TRUST_DIR"])
    check_not_revoked(certificate, current_app.config["CRL_DIR"], current_app.config["TRUST_DIR"])
    patient = linked_patient(certificate)
    consent.consume_signed_challenge(None, body["challenge_id"], body["signature_b64"], certificate_der)

    session, token = accounts.open_patient_session(patient)
    db.session.commit()
    return jsonify({"token": token, "expires_at": session.expires_at.isoformat()}), 201


@bp.get("/patient/access-history")
def access_history() -> Any:
    """List who read the signed-in patient's data: organisation, what, when and on which basis."""
    patient = accounts.current_patient()
    rows = db.session.execute(
        db.select(AuditEvent, Organization.name)
        .join(Organization, Organization.code == AuditEvent.organization_code, isouter=True)
        .where(AuditEvent.patient_id == patient.id)
        .order_by(AuditEvent.id.desc())
    ).all()
    entries = [_history_dict(event, name) for event, name in rows]

    commit_with_audit(
        AuditEntry(actor=f"patient:{patient.id}", organization_code="", patient_id=patient.id,
                   action="view_access_history", legal_basis="data_subject", detail={})
    )
    return jsonify({"entries": entries})


def _grant_dict(grant: ConsentGrant) -> dict[str, Any]:
    return {
        "grant_id": grant.id,
        "incident_id": grant.incident_id,
        "mode": grant.mode,
        "expires_at": grant.expires_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
    }


def _review_dict(grant: ConsentGrant, client: ApiClient) -> dict[str, Any]:
    # No patient data: the administrator reviews why the emergency mode was used, not whom it concerned.
    return {
        "grant_id": grant.id,
        "incident_id": grant.incident_id,
        "unit": client.name,
        "created_at": grant.created_at.isoformat(),
        "reason_code": grant.emergency_reason,
        "reason": EMERGENCY_REASONS.get(grant.emergency_reason or "", ""),
        "reviewed_at": grant.reviewed_at.isoformat() if grant.reviewed_at else None,
        "reviewed_by": grant.reviewed_by,
        "note": grant.review_note,
    }


def _history_dict(event: AuditEvent, organization_name: str | None) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "organization": organization_name or event.organization_code or "本人",
        "action": event.action,
        "action_label": ACTION_LABELS.get(event.action, event.action),
        "legal_basis": event.legal_basis,
        "legal_basis_label": BASIS_LABELS.get(event.legal_basis, event.legal_basis),
    }
