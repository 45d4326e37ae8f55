"""JSON routes of the field unit, for scripts, tests and the screens' live status.

NOTE: these routes need no crew sign-in. The app listens on loopback only, but any
program on the tablet can call them; tie them to the shift if the tablet runs
untrusted programs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from field_unit import card_step, timeline, transfers
from field_unit.incidents import DEFAULT_SCENE, candidates_for, incident_or_404, open_incident, status_dict, unit_name

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/status")
def status() -> Any:
    return jsonify(status_dict())


@api.get("/reader")
def reader() -> Any:
    return jsonify(card_step.reader_state().to_dict())


@api.post("/incidents")
def create_incident() -> Any:
    body = request.get_json(silent=True) or {}
    try:
        latitude = float(body.get("latitude", DEFAULT_SCENE[0]))
        longitude = float(body.get("longitude", DEFAULT_SCENE[1]))
    except (TypeError, ValueError):
        return jsonify({"error": "現場の緯度・経度が数値ではありません。"}), 400

    incident = open_incident(unit_name(), str(body.get("chief_complaint", "")), latitude, longitude)
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
    body = request.get_json(silent=True) or {}
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
    body = request.get_json(silent=True) or {}
    codes = body.get("hospital_codes") or []
    if not isinstance(codes, list) or not codes:
        return jsonify({"error": "送信先の医療機関を選んでください。"}), 400

    eta = body.get("eta_minutes")
    eta_minutes = eta if isinstance(eta, int) and eta >= 0 else None
    packet = transfers.queue_transfer(incident, [str(code) for code in codes], unit_name(), eta_minutes, str(body.get("notes", "")))
    return jsonify({"packet_id": packet.packet_id, "status": packet.status}), 201
