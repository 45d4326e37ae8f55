"""The card step on an in-process virtual card and the real hub: consent modes and failures."""

from __future__ import annotations

import pytest

from field_unit import card_step, outbox
from field_unit.hub_link import hub_client
from field_unit.incidents import open_incident
from field_unit.models import Alert, OutboxEvent, db
from hub.contract import SummaryRequest
from tests.field_unit.conftest import hub_rows, unreachable_url


def test_verbal_consent_gets_summary(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    card_step.read_card(incident)

    assert card_step.request_without_pin(incident, "verbal", None)
    assert incident.summary["consent_mode"] == "verbal"
    assert incident.certificate is None
    assert incident.myna["viewed"] is True


def test_pin_consent_gets_summary(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    card_step.request_with_pin(incident, "1234")

    assert incident.summary["consent_mode"] == "pin"


def test_wrong_pin_shows_tries(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    with pytest.raises(card_step.CardStepError) as caught:
        card_step.request_with_pin(incident, "9999")

    assert caught.value.tries_left == 2
    assert "あと2回" in caught.value.user_message
    assert "ask_pin" in caught.value.next_steps
    assert card_step.pin_tries_left() == 2


def test_pin_offline_offers_verbal(ctx) -> None:
    ctx.config["HUB_URL"] = unreachable_url()
    incident = open_incident("隊", "胸痛")
    with pytest.raises(card_step.CardStepError) as caught:
        card_step.request_with_pin(incident, "1234")

    assert caught.value.next_steps[0] == "verbal"
    assert card_step.pin_tries_left() == 3


def test_emergency_needs_reason(ctx) -> None:
    incident = open_incident("隊", "意識障害")
    with pytest.raises(card_step.CardStepError):
        card_step.request_without_pin(incident, "emergency", None)


def test_offline_request_queued_then_alerts(ctx, hub) -> None:
    ctx.config["HUB_URL"] = unreachable_url()
    incident = open_incident("隊", "胸痛")

    assert not card_step.request_without_pin(incident, "emergency", "unconscious")
    assert incident.summary_pending

    ctx.config["HUB_URL"] = hub.url
    outbox.drain(force=True)
    db.session.refresh(incident)

    assert incident.summary["consent_mode"] == "emergency"
    assert not incident.summary_pending
    messages = [a.message for a in db.session.execute(db.select(Alert)).scalars()]
    assert any("取得しました" in message for message in messages)


def test_missing_card_folder_explained(ctx, tmp_path) -> None:
    ctx.config["VIRTUAL_CARD_DIR"] = str(tmp_path / "no-card")
    incident = open_incident("隊", "胸痛")
    with pytest.raises(Exception):
        card_step.read_card(incident)


def test_refusal_blocks_viewing(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    card_step.read_card(incident)
    card_step.continue_without_card(incident, "consent_refused")

    assert incident.certificate is None
    assert incident.myna["stop_reason"] == "consent_refused"
    assert incident.summary is None


def test_virtual_card_latency_preset(ctx, card_dir) -> None:
    from mynacard.virtual.latency import CONTACT

    ctx.config["VIRTUAL_CARD_LATENCY"] = "contact"
    card_step.read_card(open_incident("隊", "胸痛"))

    assert ctx.extensions[card_step.VIRTUAL_CARD_KEY][str(card_dir)].latency == CONTACT


def test_virtual_card_latency_unknown(ctx) -> None:
    ctx.config["VIRTUAL_CARD_LATENCY"] = "satellite"
    with pytest.raises(ValueError, match="contactless"):
        card_step.read_card(open_incident("隊", "胸痛"))


def _grant_count(hub, incident_id: str) -> int:
    return hub_rows(hub, "SELECT COUNT(*) AS n FROM consent_grants WHERE incident_id = ?", incident_id)[0]["n"]


def test_direct_resend_same_grant(ctx, hub) -> None:
    incident = open_incident("隊", "胸痛")
    card_step.read_card(incident)
    request = SummaryRequest(
        certificate_der_b64=incident.certificate,
        consent_mode="verbal",
        incident_id=incident.id,
        request_id=card_step.summary_request_key(incident, "verbal"),
    )

    # A crash after the hub's answer and before the local commit sends the request again.
    first = hub_client().request_summary(request)
    second = hub_client().request_summary(request)

    assert second.grant_id == first.grant_id
    assert _grant_count(hub, incident.id) == 1


def test_key_kept_until_summary(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    key = card_step.summary_request_key(incident, "verbal")

    assert card_step.summary_request_key(incident, "verbal") == key
    assert card_step.summary_request_key(incident, "emergency") != key


def test_queued_resend_same_grant(ctx, hub) -> None:
    ctx.config["HUB_URL"] = unreachable_url()
    incident = open_incident("隊", "胸痛")
    card_step.request_without_pin(incident, "emergency", "unconscious")
    event = db.session.execute(db.select(OutboxEvent)).scalar_one()
    payload = dict(event.payload)

    ctx.config["HUB_URL"] = hub.url
    outbox.drain(force=True)
    # The same event sent again, as after a crash before the outbox commit.
    outbox._send_summary_request(hub_client(), payload, event)

    assert _grant_count(hub, incident.id) == 1
