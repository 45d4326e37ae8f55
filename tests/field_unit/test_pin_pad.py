"""The PIN pad's last-try confirmation and the blocked PIN, on an in-process virtual card and the real hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from field_unit import card_step
from field_unit.incidents import open_incident
from mynacard.jpki import EF_AUTH_PIN
from tests.field_unit.test_screens import signed_in

PIN = "1234"
WRONG_PIN = "9999"


def auth_tries(app, card_dir: Path) -> int:
    card = app.extensions[card_step.VIRTUAL_CARD_KEY][str(card_dir)]
    return card.tries_left("jpki", EF_AUTH_PIN)


def use_up_tries(incident, count: int) -> None:
    """Enter a wrong PIN ``count`` times, confirming the last try when it comes."""
    for _ in range(count):
        with pytest.raises(card_step.CardStepError):
            card_step.request_with_pin(incident, WRONG_PIN, confirm_last_try=card_step.pin_tries_left() == 1)


def new_incident_id(client) -> str:
    return client.post("/incidents").headers["Location"].rsplit("/", 1)[1]


def test_last_try_not_sent(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    use_up_tries(incident, 2)

    with pytest.raises(card_step.LastPinTryConfirmationError) as caught:
        card_step.request_with_pin(incident, PIN)

    assert "残り回数が1回" in caught.value.user_message
    assert auth_tries(ctx, card_dir) == 1
    assert incident.summary is None


def test_last_try_confirmed(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    use_up_tries(incident, 2)

    card_step.request_with_pin(incident, PIN, confirm_last_try=True)

    assert incident.summary["consent_mode"] == "pin"
    assert auth_tries(ctx, card_dir) == 3


def test_blocking_try_explains(ctx) -> None:
    incident = open_incident("隊", "胸痛")
    use_up_tries(incident, 2)

    with pytest.raises(card_step.CardStepError) as caught:
        card_step.request_with_pin(incident, WRONG_PIN, confirm_last_try=True)

    assert caught.value.tries_left == 0
    assert "ロックされました" in caught.value.user_message
    assert "口頭同意で進めるか、カードなしで続けてください" in caught.value.user_message
    assert caught.value.next_steps == ["verbal", "without_card"]


def test_blocked_pin_not_sent(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    use_up_tries(incident, 3)

    with pytest.raises(card_step.CardStepError) as caught:
        card_step.request_with_pin(incident, PIN, confirm_last_try=True)

    assert "ロックされています" in caught.value.user_message
    assert caught.value.next_steps == ["verbal", "without_card"]
    assert auth_tries(ctx, card_dir) == 0


def test_screen_second_miss_asks_confirmation(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = new_incident_id(client)
    client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})

    response = client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "あと1回" in page
    assert "最後の1回として" in page
    assert 'name="pin"' not in page


def test_screen_pad_shows_confirmation_first(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = new_incident_id(client)
    for _ in range(2):
        client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})

    first = client.get(f"/incidents/{incident_id}/consent/pin").get_data(as_text=True)
    pad = client.get(f"/incidents/{incident_id}/consent/pin?last_try=confirmed").get_data(as_text=True)

    assert "暗証番号の残り回数は1回です" in first
    assert 'name="pin"' not in first
    assert 'name="confirm_last_try" value="1"' in pad
    assert "最後の1回です" in pad


def test_screen_unconfirmed_post_rejected(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = new_incident_id(client)
    for _ in range(2):
        client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})

    response = client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": PIN})

    assert response.status_code == 409
    assert "最後の1回として" in response.get_data(as_text=True)
    with field_app.app_context():
        assert auth_tries(field_app, card_dir) == 1


def test_screen_confirmed_post_gets_summary(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = new_incident_id(client)
    for _ in range(2):
        client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})

    response = client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": PIN, "confirm_last_try": "1"})

    assert response.headers["Location"].endswith(f"/incidents/{incident_id}/summary")


def test_screen_blocked_pin_next_steps(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = new_incident_id(client)
    for _ in range(2):
        client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN})
    client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": WRONG_PIN, "confirm_last_try": "1"})

    page = client.get(f"/incidents/{incident_id}/consent/pin").get_data(as_text=True)

    assert "ロックされています" in page
    assert 'id="next-verbal"' in page
    assert 'id="next-without-card"' in page
    assert 'id="next-ask-pin"' not in page
