"""The outbox against a real hub process: queueing offline, ordered drain, backoff, rejection."""

from __future__ import annotations

import pytest

from field_unit import outbox, reports, timeline, transfers
from field_unit.incidents import close_incident, open_incident
from field_unit.models import Alert, OutboxEvent, SentPacket, db, utcnow
from tests.field_unit.conftest import demo_hospital, hub_rows, unreachable_url


def go_offline(app) -> str:
    online = app.config["HUB_URL"]
    app.config["HUB_URL"] = unreachable_url()
    return online


def test_transfer_sent_when_online(ctx, hub) -> None:
    incident = open_incident("隊", "胸痛")
    packet = transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", 10, "")

    assert packet.status == "sent"
    assert outbox.pending_count() == 0


def test_transfer_queued_offline(ctx, hub) -> None:
    go_offline(ctx)
    incident = open_incident("隊", "胸痛")
    packet = transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", 10, "")

    assert packet.status == "queued"
    assert outbox.pending_count() == 1
    assert outbox.sync_state().connection == "offline"


def test_backoff_after_failure(ctx, hub) -> None:
    go_offline(ctx)
    transfers.queue_transfer(open_incident("隊", "胸痛"), [demo_hospital(hub)], "隊", None, "")

    assert outbox.drain().stopped_by == "backoff"
    assert outbox.sync_state().next_attempt_at > utcnow()


def test_backoff_grows_and_caps(ctx) -> None:
    assert outbox.backoff_seconds(1, lambda: 1.0) == 1.0
    assert outbox.backoff_seconds(4, lambda: 1.0) == 8.0
    assert outbox.backoff_seconds(30, lambda: 1.0) == ctx.config["BACKOFF_MAX_SECONDS"]
    assert outbox.backoff_seconds(4, lambda: 0.0) == 4.0


def test_drain_in_order_after_reconnect(ctx, hub) -> None:
    online = go_offline(ctx)
    incidents = [open_incident("隊", f"事案{i}") for i in range(3)]
    packets = [transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", None, "") for incident in incidents]

    ctx.config["HUB_URL"] = online
    result = outbox.drain(force=True)

    assert result.sent == 3
    order = [row.idempotency_key for row in db.session.execute(db.select(OutboxEvent).order_by(OutboxEvent.done_at)).scalars()]
    assert order == [p.packet_id for p in packets]


def test_resend_is_not_duplicated(ctx, hub) -> None:
    incident = open_incident("隊", "胸痛")
    packet = transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", None, "")
    payload = db.session.get(SentPacket, packet.packet_id).payload

    # A crash after the hub stored the packet and before the local commit sends it again.
    from field_unit.hub_link import hub_client
    from hub.contract import TransferPacket

    hub_client().send_transfer(TransferPacket.from_dict(payload))
    rows = hub_rows(hub, "SELECT COUNT(*) AS n FROM transfers WHERE packet_id = ?", packet.packet_id)
    assert rows[0]["n"] == 1


def test_enqueue_same_key_once(ctx) -> None:
    outbox.enqueue("incident_report", "report:x:1", {"a": 1})
    outbox.enqueue("incident_report", "report:x:1", {"a": 2})
    db.session.commit()

    assert outbox.pending_count() == 1


def test_rejected_event_does_not_block(ctx, hub) -> None:
    outbox.enqueue("transfer", "bad-packet", {"packet_id": "bad-packet", "incident_id": "i", "hospital_codes": ["NO-SUCH"], "sent_at": utcnow().isoformat(), "unit_name": "隊", "chief_complaint": ""})
    db.session.commit()
    incident = open_incident("隊", "胸痛")
    packet = transfers.queue_transfer(incident, [demo_hospital(hub)], "隊", None, "")

    assert packet.status == "sent"
    rejected = db.session.execute(db.select(OutboxEvent).where(OutboxEvent.idempotency_key == "bad-packet")).scalar_one()
    assert rejected.status == "rejected"
    assert db.session.execute(db.select(Alert).where(Alert.level == "error")).first() is not None


def test_incident_report_reaches_hub(ctx, hub) -> None:
    incident = open_incident("隊", "胸痛")
    timeline.stamp(incident.id, "call_received")
    transfers.log_inquiry(incident.id, demo_hospital(hub), "病院", "declined", "beds_full")
    close_incident(incident)
    outbox.drain(force=True)

    rows = hub_rows(hub, "SELECT payload FROM incident_reports WHERE incident_id = ?", incident.id)
    assert len(rows) == 1
    import json

    payload = json.loads(rows[0]["payload"])
    assert payload["inquiries"][0]["reason"] == "beds_full"
    assert payload["times"]["call_received"] is not None


def test_report_has_no_name(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    incident.summary = {"grant_id": "g", "patient": {"family_name": "秘密", "given_name": "花子", "birth_date": "1940-05-01", "sex": "2"}}
    db.session.commit()
    report = reports.build_report(incident).to_dict()

    assert "秘密" not in str(report)
    assert report["sex"] == "2"
    assert report["age_band"].endswith("9")


@pytest.mark.parametrize(("birth", "band"), [("1940-05-01", "80-89"), ("2020-01-01", "0-9")])
def test_age_band(birth: str, band: str) -> None:
    from datetime import date

    assert reports.age_band(birth, date(2026, 4, 30)) == band
