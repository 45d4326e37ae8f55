"""The crew's Japanese touch screens: one task per screen, every action two taps from the incident.

Every screen except registration, sign-in and the lock screen needs a registered
tablet, a signed-in shift and an unlocked session.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from field_unit import card_face, card_step, crew, observations, outbox, timeline, transfers
from field_unit.hospitals import (
    AddressNotFoundError,
    CandidateFilter,
    UnknownDepartmentError,
    cached_hospitals,
    department_choices,
    locate_address,
    parse_filter,
)
from field_unit.hub_link import hub_client, registration
from field_unit.incidents import candidates_for, close_incident, incident_or_404, open_incident, unit_name
from field_unit.models import Alert, Incident, db
from field_unit.text_input import normalized, strict_int, strict_number, valid_coordinates
from hub.client import HubError
from hub.contract import DECLINE_REASONS, EMERGENCY_REASONS, SEVERITIES

logger = logging.getLogger(__name__)

screens = Blueprint("screens", __name__)
JST = timezone(timedelta(hours=9), "JST")
OPEN_ENDPOINTS = {"screens.signin", "screens.signin_submit", "screens.lock", "screens.signout"}
# Registration is open only while the tablet has no hub; afterwards it needs the crew.
REGISTER_ENDPOINTS = {"screens.register", "screens.register_submit"}
STOP_REASONS = {
    "no_card": "カードを持っていない",
    "consent_refused": "同意が得られなかった(拒否)",
    "urgent": "処置を優先(緊急度が高い)",
    "card_error": "カードを読み取れなかった",
}


@screens.before_request
def require_crew() -> Any:
    if request.endpoint in OPEN_ENDPOINTS:
        return None

    if registration() is None:
        return None if request.endpoint in REGISTER_ENDPOINTS else redirect(url_for("screens.register"))

    shift = crew.active_shift()
    if shift is None or session.get("shift_id") != shift.id:
        return redirect(url_for("screens.signin"))

    if crew.is_locked():
        return redirect(url_for("screens.lock", next=request.path))

    crew.touch()
    return None


@screens.errorhandler(card_step.CardStepError)
def card_step_failed(exc: card_step.CardStepError) -> Any:
    incident_id = request.view_args.get("incident_id") if request.view_args else None
    return render_template("card_error.html", error=exc, incident_id=incident_id, steps=card_step.NEXT_STEPS), 200


@screens.get("/register")
def register() -> Any:
    return render_template("register.html", error=None, registered=registration())


@screens.post("/register")
def register_submit() -> Any:
    try:
        crew.register_device(request.form.get("hub_url", ""), request.form.get("token", ""))
    except crew.CrewError as exc:
        return render_template("register.html", error=exc.user_message, registered=registration()), 400
    return redirect(url_for("screens.signin"))


@screens.get("/signin")
def signin() -> Any:
    return render_template("signin.html", error=None, unit_name=unit_name())


@screens.post("/signin")
def signin_submit() -> Any:
    form = request.form
    try:
        crew.sign_in(form.get("unit_name", ""), form.get("leader_name", ""), form.get("members", ""), form.get("code", ""))
    except crew.CrewError as exc:
        return render_template("signin.html", error=exc.user_message, unit_name=form.get("unit_name", "")), 400
    return redirect(url_for("screens.index"))


@screens.post("/signout")
def signout() -> Any:
    crew.sign_out()
    return redirect(url_for("screens.signin"))


@screens.route("/lock", methods=["GET", "POST"])
def lock() -> Any:
    target = local_path(request.args.get("next"))

    if request.method == "GET":
        session["locked"] = True
        return render_template("lock.html", error=None, next=target)

    try:
        crew.unlock(request.form.get("code", ""))
    except crew.CrewError as exc:
        return render_template("lock.html", error=exc.user_message, next=target), 403
    return redirect(target)


@screens.get("/")
def index() -> Any:
    incidents = db.session.execute(db.select(Incident).order_by(Incident.created_at.desc()).limit(20)).scalars()
    return render_template("index.html", incidents=list(incidents), shift=crew.active_shift())


@screens.post("/incidents")
def create_incident() -> Any:
    incident = open_incident(unit_name())
    timeline.stamp(incident.id, "call_received")
    return redirect(url_for("screens.show_incident", incident_id=incident.id))


@screens.get("/incidents/<incident_id>")
def show_incident(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template(
        "incident.html",
        incident=incident,
        entries=timeline.entries(incident.id),
        error=request.args.get("error"),
        latest=observations.trend(incident.id)[-1:] or None,
        packets=transfers.packets(incident.id),
    )


@screens.post("/incidents/<incident_id>/stamp/<key>")
def stamp(incident_id: str, key: str) -> Any:
    incident = incident_or_404(incident_id)
    try:
        timeline.stamp(incident.id, key, _crew_label())
    except timeline.TimelineError as exc:
        return redirect(url_for("screens.show_incident", incident_id=incident.id, error=exc.user_message))

    if key == "handover":
        close_incident(incident)
    return redirect(url_for("screens.show_incident", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/timeline")
def timeline_screen(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template("timeline.html", incident=incident, entries=timeline.entries(incident.id), error=request.args.get("error"))


@screens.post("/incidents/<incident_id>/timeline/<int:stamp_id>")
def correct_stamp(incident_id: str, stamp_id: int) -> Any:
    incident = incident_or_404(incident_id)
    try:
        new_time = _parse_jst_time(request.form.get("time", ""), stamp_id)
        timeline.correct(incident.id, stamp_id, new_time, _crew_label())
    except timeline.TimelineError as exc:
        return redirect(url_for("screens.timeline_screen", incident_id=incident.id, error=exc.user_message))
    return redirect(url_for("screens.timeline_screen", incident_id=incident.id))


def _parse_jst_time(text: str, stamp_id: int) -> datetime:
    """Take HH:MM on the day of the original stamp (JST)."""
    from field_unit.models import TimelineStamp

    original = db.session.get(TimelineStamp, stamp_id)
    parts = normalized(text).split(":")
    numbers = [strict_int(part) for part in parts]
    if len(parts) != 2 or None in numbers or not (0 <= numbers[0] <= 23 and 0 <= numbers[1] <= 59):
        raise timeline.TimelineError("bad time", "時刻は 14:05 のように 時:分 (0:00〜23:59) で入力してください。")

    base = (original.stamped_at if original else datetime.now(timezone.utc)).astimezone(JST)
    return base.replace(hour=numbers[0], minute=numbers[1], second=0, microsecond=0).astimezone(timezone.utc)


@screens.get("/incidents/<incident_id>/card")
def card(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template("card.html", incident=incident, reasons=STOP_REASONS)


@screens.post("/incidents/<incident_id>/card/read")
def card_read(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    card_step.read_card(incident)
    return redirect(url_for("screens.consent", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/card/face")
def card_face_form(incident_id: str) -> Any:
    """Show the 照合番号B entry with its format and the tries left."""
    incident = incident_or_404(incident_id)
    return _card_face_page(incident, request.args.get("error"), 200)


@screens.post("/incidents/<incident_id>/card/face")
def card_face_submit(incident_id: str) -> Any:
    """Check the card face with the typed 照合番号B; the value lives only in this request."""
    incident = incident_or_404(incident_id)
    form = request.form
    confirmed = form.get("confirm_last_try") == "1"
    try:
        number_b = card_face.compose_number_b(form.get("birth", ""), form.get("expiry_year", ""), form.get("security_code", ""))
        view = card_face.check_card_face(incident, number_b, confirm_last_try=confirmed)
    except card_face.CardFaceEntryError as exc:
        return _card_face_page(incident, exc.user_message, 400, tries=exc.tries_left)

    card_face.keep_view(incident.id, session["shift_id"], view)
    return redirect(url_for("screens.card_face_result", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/card/face/result")
def card_face_result(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    view = card_face.kept_view(incident.id, session.get("shift_id"))
    if view is None:
        message = "券面の表示期限が過ぎたか、読み取っていません。もう一度照合番号Bを入力してください。"
        return redirect(url_for("screens.card_face_form", incident_id=incident.id, error=message))

    page = render_template("card_face_result.html", incident=incident, view=view)
    return _no_store(Response(page, mimetype="text/html"))


@screens.get("/incidents/<incident_id>/card/face/photo.png")
def card_face_photo(incident_id: str) -> Any:
    """Serve the face photo from memory to the shift that read it; browsers must not keep it."""
    incident = incident_or_404(incident_id)
    view = card_face.kept_view(incident.id, session.get("shift_id"))
    if view is None or view.photo_png is None:
        return _no_store(Response("顔写真はありません。", status=404, mimetype="text/plain"))
    return _no_store(Response(view.photo_png, mimetype="image/png"))


def _card_face_page(incident: Incident, error: str | None, status: int, *, tries: int | None = None) -> Any:
    if tries is None:
        tries = card_face.number_b_tries_left()
    page = render_template("card_face.html", incident=incident, error=error, tries=tries, max_tries=card_face.NUMBER_B_MAX_TRIES)
    return _no_store(Response(page, status=status, mimetype="text/html"))


def _no_store(response: Response) -> Response:
    """Forbid every cache, the browser's back-forward cache included, from keeping patient data."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@screens.get("/incidents/<incident_id>/consent")
def consent(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template("consent.html", incident=incident)


@screens.get("/incidents/<incident_id>/consent/pin")
def pin(incident_id: str) -> Any:
    """Show the PIN pad, or first the last-try confirmation, or the blocked-PIN screen."""
    incident = incident_or_404(incident_id)
    tries = card_step.pin_tries_left()
    if tries == 0:
        raise card_step.pin_blocked()

    confirmed = request.args.get("last_try") == "confirmed"
    if tries == 1 and not confirmed:
        return _last_try_page(incident, None, 200)
    return _pin_page(incident, tries, None, 200, last_try=tries == 1)


@screens.post("/incidents/<incident_id>/consent/pin")
def pin_submit(incident_id: str) -> Any:
    """Send the PIN; the card gets the last try only when the crew confirmed it on the previous screen."""
    incident = incident_or_404(incident_id)
    pin_code = request.form.get("pin", "")
    confirmed = request.form.get("confirm_last_try") == "1"
    if len(pin_code) != 4 or not pin_code.isdigit():
        tries = card_step.pin_tries_left()
        return _pin_page(incident, tries, "暗証番号は4桁の数字で入力してください。", 400, last_try=confirmed and tries == 1)

    try:
        card_step.request_with_pin(incident, pin_code, confirm_last_try=confirmed)
    except card_step.LastPinTryConfirmationError:
        return _last_try_page(incident, None, 409)
    except card_step.CardStepError as exc:
        if exc.tries_left == 1:
            return _last_try_page(incident, exc.user_message, 400)
        if exc.tries_left:
            return _pin_page(incident, exc.tries_left, exc.user_message, 400, last_try=False)
        raise
    return redirect(url_for("screens.summary", incident_id=incident.id))


def _pin_page(incident: Incident, tries: int | None, error: str | None, status: int, *, last_try: bool) -> Any:
    page = render_template(
        "pin.html", incident=incident, tries=tries, max_tries=card_step.max_pin_tries(), error=error, last_try=last_try
    )
    return page, status


def _last_try_page(incident: Incident, error: str | None, status: int) -> Any:
    return render_template("pin_last_try.html", incident=incident, error=error, max_tries=card_step.max_pin_tries()), status


@screens.post("/incidents/<incident_id>/consent/verbal")
def verbal(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    card_step.request_without_pin(incident, "verbal", None)
    return redirect(url_for("screens.summary", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/consent/emergency")
def emergency(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template("emergency.html", incident=incident, reasons=EMERGENCY_REASONS)


@screens.post("/incidents/<incident_id>/consent/emergency")
def emergency_submit(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    card_step.request_without_pin(incident, "emergency", request.form.get("reason"))
    return redirect(url_for("screens.summary", incident_id=incident.id))


@screens.post("/incidents/<incident_id>/card/skip")
def card_skip(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    reason = request.form.get("reason", "no_card")
    card_step.continue_without_card(incident, reason if reason in STOP_REASONS else "no_card")
    return redirect(url_for("screens.show_incident", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/summary")
def summary(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return render_template("summary.html", incident=incident, s=incident.summary)


@screens.get("/incidents/<incident_id>/vitals")
def vitals(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return _vitals_page(incident, {}, {})


@screens.post("/incidents/<incident_id>/vitals")
def vitals_submit(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    form = request.form.to_dict()
    try:
        values = observations.validate(form)
    except observations.ObservationError as exc:
        return _vitals_page(incident, form, exc.errors), 400

    if "chief_complaint" in values:
        incident.chief_complaint = values["chief_complaint"]
    if "severity_estimate" in values:
        incident.severity_estimate = values["severity_estimate"]
    observations.record(incident.id, values)
    return redirect(url_for("screens.vitals", incident_id=incident.id))


def _vitals_page(incident: Incident, form: dict[str, str], errors: dict[str, str]) -> Any:
    return render_template(
        "vitals.html",
        incident=incident,
        form=form,
        errors=errors,
        rows=observations.trend(incident.id),
        jcs_levels=observations.JCS_LEVELS,
        reactions=observations.PUPIL_REACTIONS,
        severities=SEVERITIES,
    )


@screens.get("/incidents/<incident_id>/hospitals")
def hospitals(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    return _hospitals_page(incident, request.args.get("error"))


def _hospitals_page(incident: Incident, error: str | None) -> Any:
    hospitals = cached_hospitals()
    try:
        need = parse_filter(request.args.get("department"), request.args.get("stroke"), hospitals)
    except UnknownDepartmentError as exc:
        need, error = CandidateFilter(), exc.user_message

    candidates, list_error = candidates_for(incident, need=need)
    return render_template(
        "hospitals.html",
        incident=incident,
        candidates=candidates,
        need=need,
        departments=department_choices(hospitals or cached_hospitals()),
        error=error or list_error,
        inquiries=transfers.inquiries(incident.id),
        packets=transfers.packets(incident.id),
        rejections=transfers.rejection_reasons(incident.id),
        new_packet_id=str(uuid.uuid4()),
        reasons=DECLINE_REASONS,
        results=transfers.INQUIRY_RESULTS,
    )


@screens.post("/incidents/<incident_id>/scene")
def scene(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    address = request.form.get("address", "").strip()
    try:
        if address:
            incident.scene_latitude, incident.scene_longitude = locate_address(address, cached_hospitals())
            incident.scene_address = address
        else:
            incident.scene_latitude, incident.scene_longitude = _gps_position(request.form)
    except AddressNotFoundError as exc:
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error=exc.user_message))
    except (KeyError, ValueError):
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error="GPSの位置を取得できませんでした。住所を入力してください。"))

    db.session.commit()
    return redirect(url_for("screens.hospitals", incident_id=incident.id))


def _gps_position(form: Any) -> tuple[float, float]:
    """The GPS point the browser filled in; KeyError or ValueError when missing or impossible."""
    latitude, longitude = strict_number(form["latitude"]), strict_number(form["longitude"])
    if latitude is None or longitude is None or not valid_coordinates(latitude, longitude):
        raise ValueError("no valid GPS position")
    return latitude, longitude


@screens.post("/incidents/<incident_id>/inquiries")
def inquiry(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    form = request.form
    try:
        transfers.log_inquiry(incident.id, form.get("hospital_code", ""), form.get("hospital_name", ""), form.get("result", ""), form.get("reason") or None)
    except transfers.InquiryError as exc:
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error=exc.user_message))
    return redirect(url_for("screens.hospitals", incident_id=incident.id))


@screens.post("/incidents/<incident_id>/transfer")
def transfer(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    codes = request.form.getlist("hospital_code")
    if not codes:
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error="送信先の医療機関を一つ以上選んでください。"))

    try:
        eta = transfers.parse_eta(request.form.get("eta_minutes", ""))
        transfers.queue_transfer(incident, codes, unit_name(), eta, request.form.get("notes", ""), request.form.get("packet_id") or None)
    except transfers.TransferError as exc:
        logger.info("transfer for incident %s rejected on the tablet", incident.id)
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error=exc.user_message))
    return redirect(url_for("screens.hospitals", incident_id=incident.id))


@screens.post("/incidents/<incident_id>/answers")
def answers(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    try:
        transfers.refresh_answers(hub_client(), incident.id)
    except HubError as exc:
        return redirect(url_for("screens.hospitals", incident_id=incident.id, error=exc.user_message))
    return redirect(url_for("screens.hospitals", incident_id=incident.id))


@screens.get("/incidents/<incident_id>/handover.pdf")
def handover_pdf(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    from field_unit import handover

    try:
        pdf = handover.render(incident, unit_name())
    except handover.HandoverUnavailableError as exc:
        return redirect(url_for("screens.show_incident", incident_id=incident.id, error=exc.user_message))

    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=handover-{incident.id[:8]}.pdf"
    return _no_store(response)


@screens.post("/incidents/<incident_id>/close")
def close(incident_id: str) -> Any:
    incident = incident_or_404(incident_id)
    close_incident(incident)
    return redirect(url_for("screens.index"))


@screens.post("/alerts/<int:alert_id>/ack")
def acknowledge(alert_id: int) -> Any:
    alert = db.session.get(Alert, alert_id)
    if alert is not None:
        alert.acknowledged = True
        db.session.commit()
    return redirect(local_path(request.form.get("next")))


@screens.post("/sync")
def sync_now() -> Any:
    outbox.drain(force=True, limit=transfers.SEND_NOW_LIMIT)
    return redirect(local_path(request.form.get("next")))


def local_path(target: str | None) -> str:
    """``target`` when it is a path on this app, else the incident list; never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n\\"):
        return url_for("screens.index")
    return target


def _crew_label() -> str:
    shift = crew.active_shift()
    return shift.leader_name if shift else ""
