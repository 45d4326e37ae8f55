"""The crew's screens through Flask's test client: gating, lock, and one incident's screens."""

from __future__ import annotations

import time

from tests.field_unit.conftest import demo_hospital


def signed_in(app):
    client = app.test_client()
    client.post("/signin", data={"unit_name": "中央救急1", "leader_name": "佐藤", "code": "2468"})
    return client


def test_unregistered_goes_to_register(field_app) -> None:
    field_app.config["DEVICE_TOKEN"] = None
    response = field_app.test_client().get("/")
    assert response.headers["Location"].endswith("/register")


def test_signin_required(field_app) -> None:
    response = field_app.test_client().get("/")
    assert response.headers["Location"].endswith("/signin")


def test_signin_rejects_short_code(field_app) -> None:
    response = field_app.test_client().post("/signin", data={"unit_name": "隊", "leader_name": "佐藤", "code": "12"})
    assert response.status_code == 400
    assert "4〜8桁" in response.get_data(as_text=True)


def test_idle_session_locks(field_app) -> None:
    client = signed_in(field_app)
    with client.session_transaction() as session:
        session["last_activity"] = time.time() - field_app.config["LOCK_SECONDS"] - 1

    assert "/lock" in client.get("/").headers["Location"]
    assert client.post("/lock?next=/", data={"code": "0000"}).status_code == 403
    assert client.post("/lock?next=/", data={"code": "2468"}).status_code == 302
    assert client.get("/").status_code == 200


def test_register_checks_token(field_app, hub) -> None:
    field_app.config["DEVICE_TOKEN"] = None
    client = field_app.test_client()
    response = client.post("/register", data={"hub_url": hub.url, "token": "wrong"})
    assert response.status_code == 400
    assert client.post("/register", data={"hub_url": hub.url, "token": hub.device_token}).status_code == 302


def test_incident_walk(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_url = client.post("/incidents").headers["Location"]
    incident_id = incident_url.rsplit("/", 1)[1]

    assert client.post(f"/incidents/{incident_id}/stamp/dispatched").status_code == 302
    assert "入電" in client.get(incident_url).get_data(as_text=True)
    assert client.post(f"/incidents/{incident_id}/card/read").status_code == 302
    assert client.post(f"/incidents/{incident_id}/consent/verbal").status_code == 302

    summary = client.get(f"/incidents/{incident_id}/summary").get_data(as_text=True)
    assert "注意が必要な情報" in summary
    assert summary.index("注意が必要な情報") < summary.index("薬剤(3か月)")

    bad = client.post(f"/incidents/{incident_id}/vitals", data={"spo2": "120"})
    assert bad.status_code == 400
    assert "SpO2は0〜100%" in bad.get_data(as_text=True)
    assert client.post(f"/incidents/{incident_id}/vitals", data={"jcs": "10", "heart_rate": "100"}).status_code == 302

    hospitals = client.get(f"/incidents/{incident_id}/hospitals").get_data(as_text=True)
    assert demo_hospital(hub) in hospitals
    client.post(f"/incidents/{incident_id}/transfer", data={"hospital_code": [demo_hospital(hub)], "eta_minutes": "8"})
    assert "送信済み" in client.get(f"/incidents/{incident_id}/hospitals").get_data(as_text=True)


def test_wrong_pin_screen(field_app) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    page = client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": "0000"}).get_data(as_text=True)

    assert "残り 2 回" in page
    assert "あと2回" in page


def test_status_reports_queue(field_app) -> None:
    status = field_app.test_client().get("/api/status").get_json()
    assert status["queue_length"] == 0
    assert status["connection"] in ("online", "offline", "unknown")


def test_register_needs_crew_once_registered(field_app, hub) -> None:
    response = field_app.test_client().post("/register", data={"hub_url": "http://127.0.0.1:1", "token": "x"})
    assert response.headers["Location"].endswith("/signin")


def _summary_with_checks() -> dict:
    from hub.contract import InteractionItem, NamedDateItem, PatientInfo, Summary

    patient = PatientInfo.from_dict({"family_name": "試験", "given_name": "太郎", "family_kana": "シケン", "given_kana": "タロウ",
                                     "birth_date": "1950-01-01", "sex": "1", "address": "試験市"})
    return Summary(
        grant_id="g1", grant_expires_at="2026-12-31T00:00:00+00:00", consent_mode="verbal",
        generated_at="2026-12-01T00:00:00+00:00", patient=patient, insurance=None,
        interactions=[InteractionItem(kind="併用禁忌", drug_a="ワーファリン錠1mg", drug_b="ミコナゾールゲル", source="添付文書A", reason="出血")],
        procedures=[NamedDateItem(name="心臓カテーテル検査", date="2026-11-02")],
    ).to_dict()


def test_summary_shows_checks(field_app) -> None:
    from field_unit.incidents import open_incident
    from field_unit.models import db

    with field_app.app_context():
        incident = open_incident("隊", "胸痛")
        incident.summary = _summary_with_checks()
        db.session.commit()
        incident_id = incident.id

    page = signed_in(field_app).get(f"/incidents/{incident_id}/summary").get_data(as_text=True)

    assert "ワーファリン錠1mg と ミコナゾールゲル" in page
    assert "出典: 添付文書A" in page
    assert page.index("ワーファリン錠1mg と") < page.index("薬剤(3か月)")
    assert "含まれていません" not in page
    assert "2026-11-02" in page[page.index("診療(3か月)"):]
    assert "心臓カテーテル検査" in page


def test_hospital_filter_screen(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    url = f"/incidents/{incident_id}/hospitals"

    page = client.get(url).get_data(as_text=True)
    stroke_only = client.get(url + "?stroke=1").get_data(as_text=True)
    unknown = client.get(url + "?department=存在しない科")
    surgery = client.get(url + "?department=脳神経外科").get_data(as_text=True)

    assert 'id="filter-stroke"' in page
    assert "脳卒中対応" in stroke_only
    assert 'data-code="' in surgery
    assert unknown.status_code == 200
    assert "存在しない科" in unknown.get_data(as_text=True)
