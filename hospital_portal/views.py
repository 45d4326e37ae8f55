"""The ER screens: the live inbox, one packet, the replies to the crew and the documents.

Views parse input, call the hub through :mod:`hub.client` and render. Every
hub error is shown to staff in Japanese and nothing typed is lost: a failed
form is shown again with what was entered.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from hospital_portal.auth import login_required, permission_required, signed_in_staff
from hospital_portal.inbox import (
    STATUS_LABELS,
    current_inbox,
    eta_deadline,
    find_transfer,
    hub_message,
    hub_client,
    latest_notes,
    on_screen,
    patient_visible,
    replace_cached,
    screen_row,
)
from hospital_portal.models import DEPARTMENTS, PreparationNote, db, utcnow
from hospital_portal.staff import may, record_audit
from hospital_portal.trends import vital_trends
from hospital_portal.logsafe import portal_logger
from hub.client import HubError
from hub.contract import DECLINE_REASONS, SEVERITIES, TransferOutcome, TransferView
from hub.documents.handover_pdf import render_handover_pdf

logger = portal_logger(__name__)

bp = Blueprint("views", __name__)

MAX_NOTE_CHARS = 2000
MAX_TEAM_CHARS = 200
MAX_DIAGNOSIS_CHARS = 200



@bp.get("/")
@login_required
def inbox_page() -> Any:
    return render_template(
        "inbox.html", departments=DEPARTMENTS, statuses=STATUS_LABELS,
        poll_seconds=current_app.config["SCREEN_POLL_SECONDS"],
    )


@bp.get("/inbox/feed")
@login_required
def inbox_feed() -> Any:
    """Return the inbox rows for the screen; patient fields only for staff with emergency-view rights.

    Closed packets older than a day are left out unless the request has ``?older=1``.
    """
    cache = current_inbox()
    staff = signed_in_staff()
    include_older = request.args.get("older") == "1"
    now = datetime.now(timezone.utc)
    views = [view for view in cache.views if on_screen(view, now, include_older)]
    notes = latest_notes([view.transfer_id for view in views])
    rows = [screen_row(view, notes.get(view.transfer_id), may(staff, "emergency_view")) for view in views]
    return jsonify({"transfers": rows, "error": cache.error, "hidden_older": len(cache.views) - len(views)})


@bp.get("/api/inbox")
def inbox_api() -> Any:
    """Return the raw transfer views, for scripts/stack.py and monitoring.

    Open to loopback callers without a session while ``API_LOOPBACK_OPEN`` is
    set. Anyone else needs a staff session with emergency-view rights, because
    the views carry the patient summary.
    """
    if not _api_caller_allowed():
        return jsonify({"error": "ログインが必要です。"}), 401

    cache = current_inbox()
    if cache.error and not cache.views:
        return jsonify({"error": cache.error}), 502

    return jsonify({"transfers": [view.to_dict() for view in cache.views]})


@bp.get("/transfers/<transfer_id>")
@login_required
def transfer_page(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    staff = signed_in_staff()
    show_patient = patient_visible(view, may(staff, "emergency_view"))

    if show_patient and view.status in ("sent", "delivered"):
        view = _mark_viewed(view)

    if show_patient:
        record_audit(staff, "view_packet", transfer_id=transfer_id)

    return _render_transfer(view, show_patient)


@bp.post("/transfers/<transfer_id>/answer")
@permission_required("answer")
def answer(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    decision = request.form.get("decision")
    reason = request.form.get("reason") or None

    if decision not in ("accepted", "declined"):
        return _render_transfer(view, error="受入れ可否を選んでください。", status=400)

    if decision == "declined" and reason not in DECLINE_REASONS:
        return _render_transfer(view, error="受入れ不可の理由を選んでください。", status=400)

    return _update_status(view, decision, reason if decision == "declined" else None)


@bp.post("/transfers/<transfer_id>/arrival")
@permission_required("arrival")
def arrival(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    status = request.form.get("status")
    if status not in ("arrived", "handed_over"):
        return _render_transfer(view, error="到着または引継ぎを選んでください。", status=400)

    return _update_status(view, status, None)


@bp.post("/transfers/<transfer_id>/notes")
@permission_required("prepare")
def add_note(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    department = request.form.get("department") or None
    team = (request.form.get("team") or "").strip()
    text = (request.form.get("text") or "").strip()
    typed = {"department": department or "", "team": team, "text": text}

    if department is not None and department not in DEPARTMENTS:
        return _render_transfer(view, error="診療科を一覧から選んでください。", status=400, typed_note=typed)

    if not (department or team or text):
        return _render_transfer(view, error="診療科、呼出チーム、メモのいずれかを入力してください。", status=400, typed_note=typed)

    if len(team) > MAX_TEAM_CHARS:
        return _render_transfer(view, error=f"呼出チームは {MAX_TEAM_CHARS} 文字以内にしてください。", status=400, typed_note=typed)

    if len(text) > MAX_NOTE_CHARS:
        return _render_transfer(view, error=f"メモは {MAX_NOTE_CHARS} 文字以内にしてください。", status=400, typed_note=typed)

    staff = signed_in_staff()
    db.session.add(PreparationNote(
        transfer_id=transfer_id, hospital_code=staff.hospital_code, staff_id=staff.id,
        department=department, team=team, text=text,
    ))
    db.session.commit()
    record_audit(staff, "add_preparation_note", transfer_id=transfer_id)
    return redirect(url_for("views.transfer_page", transfer_id=transfer_id) + "#preparation")


@bp.post("/transfers/<transfer_id>/outcome")
@permission_required("outcome")
def outcome(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    diagnosis = (request.form.get("diagnosis") or "").strip()
    severity = request.form.get("severity") or ""
    typed = {"diagnosis": diagnosis, "severity": severity}

    if not diagnosis or len(diagnosis) > MAX_DIAGNOSIS_CHARS:
        return _render_transfer(view, error=f"診断名を {MAX_DIAGNOSIS_CHARS} 文字以内で入力してください。", status=400, typed_outcome=typed)

    if severity not in SEVERITIES:
        return _render_transfer(view, error="初診時の傷病程度を選んでください。", status=400, typed_outcome=typed)

    try:
        updated = hub_client().record_outcome(transfer_id, TransferOutcome(diagnosis, severity, utcnow().isoformat()))
    except HubError as exc:
        logger.warning("recording the outcome of transfer %s failed: %s", transfer_id, exc.code)
        return _render_transfer(view, error=hub_message(exc), status=502, typed_outcome=typed)

    replace_cached(updated)
    record_audit(signed_in_staff(), "record_outcome", transfer_id=transfer_id, detail={"severity": severity})
    return redirect(url_for("views.transfer_page", transfer_id=transfer_id) + "#outcome")


@bp.get("/transfers/<transfer_id>/handover.pdf")
@permission_required("emergency_view")
def handover_pdf(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    if view.status == "withdrawn":
        return _withdrawn_message()

    pdf = render_handover_pdf(view.packet, view)
    record_audit(signed_in_staff(), "print_handover_pdf", transfer_id=transfer_id)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="handover-{transfer_id}.pdf"', "Cache-Control": "no-store",
    })


@bp.get("/transfers/<transfer_id>/fhir.json")
@permission_required("emergency_view")
def fhir_document(transfer_id: str) -> Any:
    view = _own_transfer_or_404(transfer_id)
    if view.status == "withdrawn":
        return _withdrawn_message()

    try:
        document = hub_client().transfer_fhir(view.transfer_id)
    except HubError as exc:
        logger.warning("FHIR export of transfer %s failed: %s", transfer_id, exc.code)
        return render_template("message.html", title="FHIR 出力", message=hub_message(exc)), 502

    record_audit(signed_in_staff(), "export_fhir", transfer_id=transfer_id)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/fhir+json", headers={
        "Content-Disposition": f'attachment; filename="transfer-{transfer_id}.fhir.json"', "Cache-Control": "no-store",
    })


def _withdrawn_message() -> Any:
    logger.info("document request rejected: transfer %s is withdrawn", request.view_args.get("transfer_id"))
    message = "この搬送連絡は他院が受け入れたため取り下げられました。傷病者情報と文書は表示しません。"
    return render_template("message.html", title="取下げ済み", message=message), 410


def _own_transfer_or_404(transfer_id: str) -> TransferView:
    """Return the transfer when the hub lists it for this hospital's token; anything else is not found."""
    view = find_transfer(transfer_id)
    if view is None or view.hospital_code != current_app.config["HOSPITAL_CODE"]:
        staff = signed_in_staff()
        logger.info("transfer %s not found for staff %s", transfer_id, staff.id if staff else None)
        abort(404)

    return view


def _mark_viewed(view: TransferView) -> TransferView:
    try:
        updated = hub_client().update_transfer_status(view.transfer_id, "viewed")
    except HubError as exc:
        # The packet is still shown. The hub keeps the old status, so the crew does not see 閲覧済 (viewed) yet.
        logger.warning("marking transfer %s viewed failed: %s", view.transfer_id, exc.code)
        return view

    replace_cached(updated)
    return updated


def _update_status(view: TransferView, status: str, reason: str | None) -> Any:
    try:
        updated = hub_client().update_transfer_status(view.transfer_id, status, reason)
    except HubError as exc:
        logger.warning("status %s for transfer %s failed: %s", status, view.transfer_id, exc.code)
        if exc.code == "invalid_transition":
            # Show the state the hub holds now (someone may have answered first), not the stale one.
            view = find_transfer(view.transfer_id) or view
            label = STATUS_LABELS.get(view.status, "不明な状態")
            message = f"この搬送連絡は現在「{label}」のため、その状態には変更できません。最新の状態を表示しています。"
            return _render_transfer(view, error=message, status=409)

        return _render_transfer(view, error=hub_message(exc), status=409 if exc.status == 409 else 502)

    replace_cached(updated)
    record_audit(signed_in_staff(), f"status_{status}", transfer_id=view.transfer_id, detail={"reason": reason})
    return redirect(url_for("views.transfer_page", transfer_id=view.transfer_id))


def _render_transfer(view: TransferView, show_patient: bool | None = None, error: str | None = None, status: int = 200,
                     typed_note: dict[str, str] | None = None, typed_outcome: dict[str, str] | None = None) -> Any:
    staff = signed_in_staff()
    if show_patient is None:
        show_patient = patient_visible(view, may(staff, "emergency_view"))

    notes = list(db.session.execute(
        db.select(PreparationNote).where(PreparationNote.transfer_id == view.transfer_id)
        .order_by(PreparationNote.created_at.desc(), PreparationNote.id.desc())
    ).scalars())
    html = render_template(
        "transfer.html", view=view, packet=view.packet, summary=view.packet.summary if show_patient else None,
        show_patient=show_patient, notes=notes, trends=vital_trends(view.packet.vitals), eta_at=eta_deadline(view),
        error=error, status_labels=STATUS_LABELS, decline_reasons=DECLINE_REASONS, severities=SEVERITIES,
        departments=DEPARTMENTS, may=lambda permission: may(staff, permission),
        typed_note=typed_note or {}, typed_outcome=typed_outcome or {},
    )
    return html, status


def _api_caller_allowed() -> bool:
    staff = signed_in_staff()
    if staff is not None and may(staff, "emergency_view"):
        return True

    if not current_app.config["API_LOOPBACK_OPEN"]:
        return False

    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
