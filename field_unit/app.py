"""Application factory and routes of the field unit (the ambulance tablet app).

Screens are Japanese and served on loopback to the tablet's own browser; the
``/api`` routes carry the same actions as JSON for scripts and tests.
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, jsonify, redirect, render_template, request, url_for

from field_unit import card_reader
from field_unit.hospitals import rank_candidates
from field_unit.models import Incident, SentPacket, db
from hub.client import HubClient, HubError
from hub.contract import HospitalInfo, SummaryRequest, TransferPacket
from mynacard.errors import CardError

logger = logging.getLogger(__name__)

# Default scene: Sapporo Station, where the demo data's hospitals cluster.
DEFAULT_SCENE = (43.0687, 141.3508)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance = os.environ.get("FIELD_INSTANCE_DIR") or str(Path.cwd() / "var" / "field_unit")
    app = Flask(__name__, instance_path=instance)
    os.makedirs(app.instance_path, exist_ok=True)
    _configure(app, test_config)

    db.init_app(app)
    with app.app_context():
        db.create_all()

    _register_routes(app)
    return app


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(app.instance_path) / 'field_unit.sqlite3'}",
        HUB_URL=os.environ.get("FIELD_HUB_URL", "http://127.0.0.1:8710"),
        DEVICE_TOKEN=os.environ.get("FIELD_DEVICE_TOKEN"),
        UNIT_NAME=os.environ.get("FIELD_UNIT_NAME", "救急隊"),
        READER=os.environ.get("FIELD_READER") or None,
    )
    if test_config:
        app.config.update(test_config)

    if not app.config["DEVICE_TOKEN"]:
        raise RuntimeError("FIELD_DEVICE_TOKEN is not set: register the tablet with the hub first")


def hub_client() -> HubClient:
    return HubClient(current_app.config["HUB_URL"], current_app.config["DEVICE_TOKEN"])


def _register_routes(app: Flask) -> None:
    @app.get("/")
    def index() -> Any:
        incidents = db.session.execute(db.select(Incident).order_by(Incident.created_at.desc())).scalars()
        return render_template("index.html", incidents=list(incidents))

    @app.post("/incidents")
    def create_incident_form() -> Any:
        incident = open_incident(request.form.get("chief_complaint", ""), *DEFAULT_SCENE)
        return redirect(url_for("show_incident", incident_id=incident.id))

    @app.get("/incidents/<incident_id>")
    def show_incident(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        candidates, hospital_error = _candidates_or_error(incident)
        packets = db.session.execute(db.select(SentPacket).where(SentPacket.incident_id == incident.id)).scalars()
        return render_template(
            "incident.html",
            incident=incident,
            candidates=candidates,
            hospital_error=hospital_error,
            packets=list(packets),
        )

    @app.post("/incidents/<incident_id>/card")
    def read_card_form(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        read_card_and_fetch_summary(incident, request.form.get("consent_mode", "verbal"), request.form.get("emergency_reason"))
        return redirect(url_for("show_incident", incident_id=incident.id))

    @app.post("/incidents/<incident_id>/transfer")
    def transfer_form(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        codes = request.form.getlist("hospital_code")
        if codes:
            send_transfer(incident, codes, None, request.form.get("notes", ""))
        return redirect(url_for("show_incident", incident_id=incident.id))

    @app.post("/api/incidents")
    def create_incident_api() -> Any:
        body = request.get_json(silent=True) or {}
        latitude = float(body.get("latitude", DEFAULT_SCENE[0]))
        longitude = float(body.get("longitude", DEFAULT_SCENE[1]))
        incident = open_incident(str(body.get("chief_complaint", "")), latitude, longitude)
        return jsonify({"incident_id": incident.id}), 201

    @app.post("/api/incidents/<incident_id>/card")
    def read_card_api(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        body = request.get_json(silent=True) or {}
        ok = read_card_and_fetch_summary(incident, body.get("consent_mode", "verbal"), body.get("emergency_reason"))
        if not ok:
            return jsonify({"error": incident.card_error}), 502

        return jsonify(incident.summary)

    @app.get("/api/incidents/<incident_id>/hospitals")
    def hospitals_api(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        candidates, error = _candidates_or_error(incident)
        if error:
            return jsonify({"error": error}), 502

        return jsonify(
            {
                "candidates": [
                    {**c.hospital.to_dict(), "distance_km": round(c.distance_km, 2), "patient_visited": c.patient_visited}
                    for c in candidates
                ]
            }
        )

    @app.post("/api/incidents/<incident_id>/transfer")
    def transfer_api(incident_id: str) -> Any:
        incident = _incident_or_404(incident_id)
        body = request.get_json(silent=True) or {}
        codes = body.get("hospital_codes") or []
        if not isinstance(codes, list) or not codes:
            return jsonify({"error": "送信先の医療機関を選んでください。"}), 400

        packet = send_transfer(incident, [str(code) for code in codes], body.get("eta_minutes"), str(body.get("notes", "")))
        return jsonify({"packet_id": packet.packet_id, "status": packet.status}), 201


def open_incident(chief_complaint: str, latitude: float, longitude: float) -> Incident:
    incident = Incident(
        id=str(uuid.uuid4()),
        chief_complaint=chief_complaint,
        scene_latitude=latitude,
        scene_longitude=longitude,
    )
    db.session.add(incident)
    db.session.commit()
    logger.info("incident %s opened", incident.id)
    return incident


def read_card_and_fetch_summary(incident: Incident, consent_mode: str, emergency_reason: str | None) -> bool:
    """Read the card, ask the hub for the summary and store it; False with a Japanese error on failure."""
    try:
        certificate = card_reader.read_auth_certificate(current_app.config["READER"])
        summary = hub_client().request_summary(
            SummaryRequest(
                certificate_der_b64=base64.b64encode(certificate).decode("ascii"),
                consent_mode=consent_mode,
                incident_id=incident.id,
                emergency_reason=emergency_reason or None,
            )
        )
    except CardError as exc:
        logger.warning("card read failed for incident %s: %s", incident.id, exc)
        incident.card_error = exc.user_message
        db.session.commit()
        return False
    except HubError as exc:
        logger.warning("summary request failed for incident %s: %s", incident.id, exc.code)
        incident.card_error = exc.user_message
        db.session.commit()
        return False

    incident.consent_mode = consent_mode
    incident.summary = summary.to_dict()
    incident.card_error = None
    db.session.commit()
    logger.info("summary stored for incident %s", incident.id)
    return True


def send_transfer(incident: Incident, hospital_codes: list[str], eta_minutes: Any, notes: str) -> SentPacket:
    """Store the packet locally first, then send it; a failed send stays pending."""
    summary = incident.summary
    packet = TransferPacket(
        packet_id=str(uuid.uuid4()),
        incident_id=incident.id,
        hospital_codes=hospital_codes,
        sent_at=datetime.now(timezone.utc).isoformat(),
        unit_name=current_app.config["UNIT_NAME"],
        chief_complaint=incident.chief_complaint,
        eta_minutes=int(eta_minutes) if isinstance(eta_minutes, (int, str)) and str(eta_minutes).isdigit() else None,
        grant_id=summary["grant_id"] if summary else None,
        summary=None,
        notes=notes,
    )
    payload = packet.to_dict()
    payload["summary"] = summary
    row = SentPacket(packet_id=packet.packet_id, incident_id=incident.id, payload=payload, status="pending")
    db.session.add(row)
    db.session.commit()

    try:
        hub_client().send_transfer(TransferPacket.from_dict(payload))
    except HubError as exc:
        # TODO: the outbox with backoff (field-unit issue) retries pending packets.
        logger.warning("transfer packet %s not sent yet: %s", row.packet_id, exc.code)
        return row

    row.status = "sent"
    db.session.commit()
    logger.info("transfer packet %s sent", row.packet_id)
    return row


def _incident_or_404(incident_id: str) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        abort(404)

    return incident


def _candidates_or_error(incident: Incident) -> tuple[list[Any], str | None]:
    try:
        hospitals: list[HospitalInfo] = hub_client().list_hospitals()
    except HubError as exc:
        return [], exc.user_message

    visited = {visit["hospital_code"] for visit in (incident.summary or {}).get("visits", [])}
    latitude = incident.scene_latitude if incident.scene_latitude is not None else DEFAULT_SCENE[0]
    longitude = incident.scene_longitude if incident.scene_longitude is not None else DEFAULT_SCENE[1]
    return rank_candidates(hospitals, latitude, longitude, visited), None
