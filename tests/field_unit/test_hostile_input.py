"""Hostile or unusual input from the tester's report: Japanese errors, no 500s, no lost or doubled packets."""

from __future__ import annotations

from field_unit import outbox, transfers
from field_unit.incidents import open_incident
from field_unit.models import Incident, SentPacket, db
from tests.field_unit.conftest import demo_hospital
from tests.field_unit.test_screens import signed_in


def new_incident(client) -> str:
    return client.post("/incidents").headers["Location"].rsplit("/", 1)[1]


def test_rejected_packet_shown_failed(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    with field_app.app_context():
        incident = db.session.get(Incident, incident_id)
        row = SentPacket(packet_id="p-1", incident_id=incident_id, hospital_codes=["X"], payload={}, status="queued")
        db.session.add(row)
        outbox.enqueue("transfer", "p-1", {"packet_id": "p-1", "incident_id": incident.id, "hospital_codes": ["X"], "sent_at": "2026-01-01T00:00:00+00:00", "unit_name": "隊", "chief_complaint": "胸痛\x00"}, incident_id)
        db.session.commit()
        outbox.drain(force=True)

    page = client.get(f"/incidents/{incident_id}/hospitals").get_data(as_text=True)
    assert "送信できませんでした" in page
    assert "内容を確認して再送信" in page
    assert "invalid field" not in client.get("/api/status").get_data(as_text=True)


def test_control_char_refused_before_queue(ctx, hub) -> None:
    incident = open_incident("隊", "胸痛\x00")
    try:
        transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", None, "")
    except transfers.TransferError as exc:
        assert "制御文字" in exc.user_message
    else:
        raise AssertionError("a NUL in the chief complaint was queued")


def test_eta_out_of_range_refused(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    for eta in ("9999999999", "²", "1_00"):
        response = client.post(f"/incidents/{incident_id}/transfer", data={"hospital_code": [demo_hospital(hub)], "eta_minutes": eta})
        assert response.status_code == 302, eta
        assert "error=" in response.headers["Location"], eta


def test_same_packet_id_sent_once(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    page = client.get(f"/incidents/{incident_id}/hospitals").get_data(as_text=True)
    assert 'name="packet_id"' in page

    form = {"hospital_code": [demo_hospital(hub)], "eta_minutes": "8", "packet_id": "5d0f4e9a-1111-4222-8333-444455556666"}
    client.post(f"/incidents/{incident_id}/transfer", data=form)
    client.post(f"/incidents/{incident_id}/transfer", data=form)
    with field_app.app_context():
        assert len(transfers.packets(incident_id)) == 1


def test_fullwidth_unlock_code(field_app) -> None:
    client = signed_in(field_app)
    client.get("/lock")
    response = client.post("/lock?next=/", data={"code": "２４６８"})
    assert response.status_code == 302


def test_signin_strips_newline(field_app) -> None:
    client = field_app.test_client()
    client.post("/signin", data={"unit_name": "隊", "leader_name": "佐藤", "code": "2468\n"})
    client.get("/lock")
    assert client.post("/lock?next=/", data={"code": "2468"}).status_code == 302


def test_long_leader_name_refused(field_app) -> None:
    response = field_app.test_client().post("/signin", data={"unit_name": "隊", "leader_name": "長" * 500, "code": "2468"})
    assert response.status_code == 400


def test_huge_time_correction(field_app) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    with field_app.app_context():
        from field_unit import timeline

        stamp_id = next(e.current.id for e in timeline.entries(incident_id) if e.current)
    response = client.post(f"/incidents/{incident_id}/timeline/{stamp_id}", data={"time": "99999999999999999999:1"})
    assert response.status_code == 302
    assert "error=" in response.headers["Location"]


def test_fullwidth_time_correction(field_app) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    with field_app.app_context():
        from field_unit import timeline

        stamp_id = next(e.current.id for e in timeline.entries(incident_id) if e.current)
    response = client.post(f"/incidents/{incident_id}/timeline/{stamp_id}", data={"time": "００：００"})
    assert "error=" not in response.headers["Location"]


def test_infinite_scene_refused(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    for value in ("inf", "nan", "999"):
        client.post(f"/incidents/{incident_id}/scene", data={"latitude": value, "longitude": "141.3"})
        assert client.get(f"/incidents/{incident_id}/hospitals").status_code == 200, value
        with field_app.app_context():
            assert db.session.get(Incident, incident_id).scene_latitude is None, value


def test_stored_infinite_scene_page_works(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    with field_app.app_context():
        db.session.get(Incident, incident_id).scene_latitude = float("inf")
        db.session.get(Incident, incident_id).scene_longitude = 141.3
        db.session.commit()
    assert client.get(f"/incidents/{incident_id}/hospitals").status_code == 200


def test_json_list_body_refused(field_app) -> None:
    field_app.config["API_TOKEN"] = "t0ken"
    response = field_app.test_client().post("/api/incidents", json=[1, 2], headers={"Authorization": "Bearer t0ken"})
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]


def test_not_found_page_japanese(field_app) -> None:
    page = signed_in(field_app).get("/incidents/no-such").get_data(as_text=True)
    assert "見つかりません" in page


def test_method_not_allowed_japanese(field_app) -> None:
    response = field_app.test_client().get("/signout")
    assert response.status_code == 405
    assert "この操作はできません" in response.get_data(as_text=True)


def test_underscore_vital_refused(field_app) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    assert client.post(f"/incidents/{incident_id}/vitals", data={"heart_rate": "1_00"}).status_code == 400


def test_fullwidth_jcs_accepted(field_app) -> None:
    client = signed_in(field_app)
    incident_id = new_incident(client)
    assert client.post(f"/incidents/{incident_id}/vitals", data={"jcs": "１０"}).status_code == 302


def test_ack_redirect_stays_local(field_app) -> None:
    response = signed_in(field_app).post("/alerts/1/ack", data={"next": "https://example.invalid/"})
    assert response.headers["Location"] == "/"


def test_sync_redirect_stays_local(field_app) -> None:
    response = signed_in(field_app).post("/sync", data={"next": "//example.invalid/"})
    assert response.headers["Location"] == "/"


def test_api_card_needs_session(field_app) -> None:
    client = field_app.test_client()
    with field_app.app_context():
        incident_id = open_incident("隊").id
    assert client.post(f"/api/incidents/{incident_id}/card", json={"consent_mode": "verbal"}).status_code == 401


def test_api_refused_while_locked(field_app) -> None:
    client = signed_in(field_app)
    client.get("/lock")
    assert client.post("/api/incidents", json={}).status_code == 401


def test_api_token_accepted(field_app) -> None:
    field_app.config["API_TOKEN"] = "t0ken"
    response = field_app.test_client().post("/api/incidents", json={}, headers={"Authorization": "Bearer t0ken"})
    assert response.status_code == 201


def test_api_wrong_token_refused(field_app) -> None:
    field_app.config["API_TOKEN"] = "t0ken"
    response = field_app.test_client().post("/api/incidents", json={}, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
