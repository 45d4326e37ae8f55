"""Timeline corrections, vitals validation and trend, hospital ranking by address, retention purge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from field_unit import observations, retention, timeline
from field_unit.hospitals import AddressNotFoundError, locate_address
from field_unit.incidents import close_incident, open_incident
from field_unit.models import Observation, db, utcnow
from hub.contract import HospitalInfo


def test_stamp_twice_refused(ctx) -> None:
    incident = open_incident("隊")
    timeline.stamp(incident.id, "dispatched")
    with pytest.raises(timeline.TimelineError):
        timeline.stamp(incident.id, "dispatched")


def test_correction_keeps_original(ctx) -> None:
    incident = open_incident("隊")
    first = timeline.stamp(incident.id, "arrived_scene")
    corrected = timeline.correct(incident.id, first.id, first.stamped_at - timedelta(minutes=3))
    entry = next(e for e in timeline.entries(incident.id) if e.key == "arrived_scene")

    assert entry.current.id == corrected.id
    assert [row.id for row in entry.history] == [first.id]
    assert entry.history[0].stamped_at == first.stamped_at


def test_correction_in_future_refused(ctx) -> None:
    incident = open_incident("隊")
    first = timeline.stamp(incident.id, "arrived_scene")
    with pytest.raises(timeline.TimelineError):
        timeline.correct(incident.id, first.id, utcnow() + timedelta(hours=1))


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"spo2": "101"}, "spo2"),
        ({"systolic_bp": "120"}, "diastolic_bp"),
        ({"systolic_bp": "80", "diastolic_bp": "90"}, "diastolic_bp"),
        ({"jcs": "15"}, "jcs"),
        ({"gcs_e": "4"}, "gcs_m"),
        ({"heart_rate": "abc"}, "heart_rate"),
        ({"body_temperature": "50"}, "body_temperature"),
        ({}, "form"),
    ],
)
def test_vitals_invalid(form: dict[str, str], field: str) -> None:
    with pytest.raises(observations.ObservationError) as caught:
        observations.validate(form)
    assert field in caught.value.errors


def test_vitals_valid() -> None:
    values = observations.validate({"jcs": "30-r", "gcs_e": "2", "gcs_v": "3", "gcs_m": "5", "systolic_bp": "150", "diastolic_bp": "90", "body_temperature": "36.8"})
    assert values["jcs"] == "30-R"
    assert values["gcs_total"] == 10
    assert values["body_temperature"] == 36.8


def test_trend_arrows(ctx) -> None:
    incident = open_incident("隊")
    observations.record(incident.id, {"heart_rate": 90, "spo2": 95}, utcnow() - timedelta(minutes=5))
    observations.record(incident.id, {"heart_rate": 110, "spo2": 95})
    rows = observations.trend(incident.id)

    assert rows[1].arrows == {"heart_rate": "↑", "spo2": "→"}


def _hospital(code: str, address: str, lat: float, lon: float) -> HospitalInfo:
    return HospitalInfo(code=code, name=code, address=address, latitude=lat, longitude=lon, emergency_designated=True)


def test_locate_address_by_ward() -> None:
    hospitals = [_hospital("a", "札幌市中央区北1条", 43.0, 141.0), _hospital("b", "札幌市中央区南3条", 43.2, 141.2), _hospital("c", "旭川市", 43.7, 142.3)]
    assert locate_address("札幌市中央区大通西", hospitals) == pytest.approx((43.1, 141.1))


def test_locate_address_unknown() -> None:
    with pytest.raises(AddressNotFoundError):
        locate_address("東京都千代田区", [_hospital("a", "札幌市中央区北1条", 43.0, 141.0)])


def test_purge_after_retention(ctx) -> None:
    ctx.config["RETENTION_MINUTES"] = 0
    incident = open_incident("隊", "胸痛")
    incident.summary = {"grant_id": "g"}
    observations.record(incident.id, {"heart_rate": 90})
    timeline.stamp(incident.id, "handover", at=utcnow() - timedelta(minutes=1))
    db.session.commit()

    from field_unit import outbox

    outbox.drain(force=True)
    assert retention.purge_expired() == [incident.id]
    assert incident.summary is None
    assert db.session.execute(db.select(Observation.values)).scalar() is None
    assert timeline.current_times(incident.id)["handover"] is not None


def test_purge_waits_for_outbox(ctx) -> None:
    from tests.field_unit.conftest import unreachable_url

    ctx.config["RETENTION_MINUTES"] = 0
    ctx.config["HUB_URL"] = unreachable_url()
    incident = open_incident("隊", "胸痛")
    incident.summary = {"grant_id": "g"}
    close_incident(incident)

    assert retention.purge_expired() == []
    assert incident.summary == {"grant_id": "g"}
