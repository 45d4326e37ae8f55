"""JSON routes of the field unit, for scripts, tests and the screens' live status.

Every route needs either the signed-in, unlocked crew session of the screens or, for
local automation (scripts/stack.py, tests), ``Authorization: Bearer <FIELD_API_TOKEN>``
when that setting is given. ``/api/status`` answers anyone with the connection state
only; its alerts go to the crew.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request, session

from field_unit import card_step, crew, timeline, transfers
from field_unit.incidents import DEFAULT_SCENE, candidates_for, incident_or_404, open_incident, status_dict, unit_name
from field_unit.text_input import has_control_characters, valid_coordinates
from hub.contract import MAX_ETA_MINUTES

logger = logging.getLogger(__name__)
api = Blueprint("api", __name__, url_prefix="/api")
OPEN_ENDPOINTS = {"api.status"}


class BadBody(ValueError):
    """A JSON body that is not an object; answered with a Japanese 400."""


@api.before_request
def require_crew_or_token() -> Any:
    if request.endpoint in OPEN_ENDPOINTS or caller_authorized():
        return None

    logger.warning("api call %s %s rejected: no crew session and no valid token", request.method, request.endpoint)
    return jsonify({"error": "救急隊端末にサインインし、画面ロックを解除してから操作してください。"}), 401


def caller_authorized() -> bool:
    """Return whether the caller sent the automation token or has an unlocked crew session."""
    token = current_app.config.get("API_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), str(token).encode()):
        return True

    shift = crew.active_shift()
    return shift is not None and session.get("shift_id") == shift.id and not crew.is_locked()


@api.errorhandler(BadBody)
def bad_body(exc: BadBody) -> Any:
    return jsonify({"error": "送信内容はJSONのオブジェクトで送ってください。"}), 400


def json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadBody("JSON body is not an object")
    return body


@api.get("/status")
def status() -> Any:
    state = status_dict()
    if not caller_authorized():
        state["alerts"] = []
    return jsonify(state)


@api.get("/reader")
def reader() -> Any:
    return jsonify(card_step.reader_state().to_dict())


@api.post("/incidents")
def create_incident() -> Any:
    body = json_object()
    try:
        latitude = float(body.get("latitude", DEFAULT_SCENE[0]))
        longitude = float(body.get("longitude", DEFAULT_SCENE[1]))
    except (TypeError, ValueError):
        return jsonify({"error": "現場の緯度・経度が数値ではありません。"}), 400

    if not valid_coordinates(latitude, longitude):
        return jsonify({"error": "現場の緯度は-90〜90、経度は-180〜180の数値で指定してください。"}), 400

    complaint = str(body.get("chief_complaint", ""))
    if has_control_characters(complaint) or len(complaint) > 200:
        return jsonify({"error": "主訴は制御文字を含まない200文字以内で指定してください。"}), 400

    incident = open_incident(unit_name(), complaint, latitude, longitude)
    return jsonify({"incident_id": incident.id}), 201


@api.post("/incidents/<incident_id>/stamps/<key>")
def stamp(incident_id: str, key: str) -> Any:
    incident = incident_or_404(incident_id)
    try:
        row = timeline.stamp(incident.id, key)
    except timeline.TimelineError as exc:
        return jsonify({"error": exc.user_message}), 409

    return jsonify({"id": row.id, "key": row.key, "stamped_at": row.stamped_at.isoformat()}), 201


@api.post("/incidents/<incident_id>/card")
def read_card(incident_id: str) -> Any:
    """Read the card and request the summary (verbal or emergency consent)."""
    incident = incident_or_404(incident_id)
    body = json_object()
    try:
        card_step.read_card(incident)
        arrived = card_step.request_without_pin(incident, str(body.get("consent_mode", "verbal")), body.get("emergency_reason"))
    except card_step.CardStepError as exc:
        return jsonify({"error": exc.user_message, "next_steps": exc.next_steps}), 502

    if not arrived:
        return jsonify({"queued": True, "message": "通信回復後に取得します。"}), 202

    return jsonify(incident.summary)


@api.get("/incidents/<incident_id>/hospitals")
def hospitals(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    candidates, error = candidates_for(incident)
    if error and not candidates:
        return jsonify({"error": error}), 502

    return jsonify(
        {
            "candidates": [
                {**c.hospital.to_dict(), "distance_km": round(c.distance_km, 2), "patient_visited": c.patient_visited}
                for c in candidates
            ]
        }
    )


@api.post("/incidents/<incident_id>/transfer")
def transfer(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    body = json_object()
    codes = body.get("hospital_codes") or []
    if not isinstance(codes, list) or not codes:
        return jsonify({"error": "送信先の医療機関を選んでください。"}), 400

    eta = body.get("eta_minutes")
    if eta is not None and (isinstance(eta, bool) or not isinstance(eta, int) or not 0 <= eta <= MAX_ETA_MINUTES):
        return jsonify({"error": f"到着予定は0〜{MAX_ETA_MINUTES}分の整数で指定してください。"}), 400

    try:
        packet = transfers.queue_transfer(
            incident, [str(code) for code in codes], unit_name(), eta, str(body.get("notes", "")), str(body.get("packet_id") or "") or None
        )
    except transfers.TransferError as exc:
        logger.info("transfer for incident %s rejected on the tablet", incident.id)
        return jsonify({"error": exc.user_message}), 400
    return jsonify({"packet_id": packet.packet_id, "status": packet.status}), 201
