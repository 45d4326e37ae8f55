"""The 照合番号B step on an in-process virtual card: format, tries, forgery outcomes, privacy and the screens."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from pathlib import Path

import pytest

from field_unit import card_face, card_step
from field_unit.incidents import open_incident
from mynacard import facedata
from mynacard.credentials import printed_birth_date
from mynacard.devpki import generate_rsa_key
from mynacard.persona import CardPersona
from mynacard.virtual.files import BinaryFile, KeyFile
from tests.field_unit.test_screens import signed_in

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_EF_NUMBER_B = 0x0015


def persona(card_dir: Path) -> CardPersona:
    return CardPersona.load(card_dir / "persona.json")


def number_b_parts(card_dir: Path) -> dict[str, str]:
    """The three parts of 照合番号B as the crew would type them from the card face."""
    holder = persona(card_dir)
    assert holder.card_expiry is not None and holder.security_code is not None
    return {
        "birth": printed_birth_date(holder.birth_date),
        "expiry_year": f"{holder.card_expiry.year:04d}",
        "security_code": holder.security_code,
    }


def number_b(card_dir: Path) -> str:
    parts = number_b_parts(card_dir)
    return card_face.compose_number_b(parts["birth"], parts["expiry_year"], parts["security_code"])


def wrong_number_b(card_dir: Path) -> str:
    value = number_b(card_dir)
    return value[:-4] + ("0000" if value[-4:] != "0000" else "1111")


def virtual_card(app, card_dir: Path):
    """The app's in-process card, created by a harmless query when the app has not opened it yet."""
    card_face.number_b_tries_left()
    return app.extensions[card_step.VIRTUAL_CARD_KEY][str(card_dir)]


def replace_file(card, ap: str, fid: int, data: bytes) -> None:
    application = card.application(ap)
    file = application.files[fid]
    assert isinstance(file, BinaryFile)
    application.files[fid] = dataclasses.replace(file, data=data)


def file_data(card, ap: str, fid: int) -> bytes:
    file = card.application(ap).files[fid]
    assert isinstance(file, BinaryFile)
    return file.data


def forge(card) -> None:
    """Sign a CV certificate with the forger's own key under the pinned CA key ID."""
    forger = generate_rsa_key()
    issuer_key_id = facedata.parse_cv_certificate(file_data(card, "visual", 0x0004)).issuer_key_id
    forged = facedata.build_cv_certificate(forger, issuer_key_id, forger.public_key(), facedata.key_id("X"))
    replace_file(card, "text", 0x0004, forged)


def alter(card, holder: CardPersona) -> None:
    """Change the given name in the signed 基本4情報 to another of the same length."""
    original = file_data(card, "text", 0x0002)
    altered = original.replace(holder.given_name.encode(), ("〇" * len(holder.given_name)).encode())
    assert altered != original
    replace_file(card, "text", 0x0002, altered)


def clone(card) -> None:
    """Put copied records on a chip whose visual-AP key differs from the key in the signed face."""
    card.application("visual").files[0x001A] = KeyFile(generate_rsa_key(), pin_fid=None)


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


# Format ------------------------------------------------------------------------------------


def test_compose_layout() -> None:
    assert card_face.compose_number_b("550217", "2035", "2285") == "55021720352285"


def test_compose_full_width_digits() -> None:
    assert card_face.compose_number_b("５５０２１７", "２０３５", "２２８５") == "55021720352285"


@pytest.mark.parametrize(
    ("birth", "expiry_year", "code", "message"),
    [
        ("5502", "2035", "2285", "生年月日"),
        ("551317", "2035", "2285", "生年月日"),
        ("550217", "35", "2285", "西暦4桁"),
        ("550217", "2035", "22a5", "セキュリティコード"),
    ],
)
def test_compose_rejects_part(birth: str, expiry_year: str, code: str, message: str) -> None:
    with pytest.raises(card_face.CardFaceEntryError) as caught:
        card_face.compose_number_b(birth, expiry_year, code)

    assert message in caught.value.user_message


@pytest.mark.parametrize(
    ("day", "label"),
    [(date(1980, 2, 17), "昭和55年2月17日(1980年)"), (date(2019, 5, 1), "令和元年5月1日(2019年)")],
)
def test_japanese_date_era(day: date, label: str) -> None:
    assert card_face.japanese_date(day) == label


# Forgery check ----------------------------------------------------------------------------


def test_genuine_card_view(ctx, card_dir) -> None:
    holder = persona(card_dir)
    incident = open_incident("隊", "胸痛")

    view = card_face.check_card_face(incident, number_b(card_dir))

    assert view.outcome == "genuine"
    assert view.name == holder.full_name
    assert view.birth_date == holder.birth_date
    assert view.address == holder.address
    assert view.sex == holder.sex
    assert view.photo_png is not None and view.photo_png.startswith(PNG_SIGNATURE)
    assert incident.myna["card_face_check"] == "genuine"


@pytest.mark.parametrize(("tamper", "outcome", "text"), [("forge", "forged", "偽造"), ("alter", "altered", "改ざん"), ("clone", "cloned", "複製")])
def test_tampered_card_outcome(ctx, card_dir, tamper: str, outcome: str, text: str) -> None:
    card = virtual_card(ctx, card_dir)
    if tamper == "forge":
        forge(card)
    elif tamper == "alter":
        alter(card, persona(card_dir))
    else:
        clone(card)
    incident = open_incident("隊", "胸痛")

    view = card_face.check_card_face(incident, number_b(card_dir))

    assert view.outcome == outcome
    assert text in view.outcome_text
    assert view.name is None
    assert view.photo_png is None
    assert incident.myna["card_face_check"] == outcome


def test_wrong_number_tries_left(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    with pytest.raises(card_face.CardFaceEntryError) as caught:
        card_face.check_card_face(incident, wrong_number_b(card_dir))

    assert caught.value.tries_left == 2
    assert "あと2回" in caught.value.user_message
    assert card_face.number_b_tries_left() == 2


def test_last_try_needs_confirmation(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    for _ in range(2):
        with pytest.raises(card_face.CardFaceEntryError):
            card_face.check_card_face(incident, wrong_number_b(card_dir))

    with pytest.raises(card_face.CardFaceEntryError) as caught:
        card_face.check_card_face(incident, number_b(card_dir))

    assert caught.value.tries_left == 1
    assert virtual_card(ctx, card_dir).tries_left("text", TEXT_EF_NUMBER_B) == 1
    assert card_face.check_card_face(incident, number_b(card_dir), confirm_last_try=True).outcome == "genuine"


def test_blocked_number_explains(ctx, card_dir) -> None:
    incident = open_incident("隊", "胸痛")
    for confirm in (False, False, True):
        with pytest.raises(card_face.CardFaceEntryError):
            card_face.check_card_face(incident, wrong_number_b(card_dir), confirm_last_try=confirm)

    with pytest.raises(card_face.CardFaceEntryError) as caught:
        card_face.check_card_face(incident, number_b(card_dir), confirm_last_try=True)

    assert caught.value.tries_left == 0
    assert "ロックされています" in caught.value.user_message
    assert "カードなしで続けて" in caught.value.user_message


def test_missing_ca_keys_explained(ctx, card_dir) -> None:
    ctx.config["TRUST_DIR"] = None
    incident = open_incident("隊", "胸痛")

    with pytest.raises(card_step.CardStepError) as caught:
        card_face.check_card_face(incident, number_b(card_dir))

    assert "鍵がこの端末に設定されていません" in caught.value.user_message


# Privacy ----------------------------------------------------------------------------------


def test_number_b_never_logged(ctx, card_dir, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    incident = open_incident("隊", "胸痛")
    value = number_b(card_dir)

    card_face.check_card_face(incident, value)
    with pytest.raises(card_face.CardFaceEntryError):
        card_face.check_card_face(incident, wrong_number_b(card_dir))

    assert value not in caplog.text
    assert value[-4:] not in caplog.text
    assert persona(card_dir).given_name not in caplog.text


def test_nothing_in_clear_on_disk(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))
    photo = client.get(f"/incidents/{incident_id}/card/face/photo.png").data
    instance = Path(field_app.instance_path)

    assert photo.startswith(PNG_SIGNATURE)
    assert files_containing(instance, number_b(card_dir).encode()) == []
    assert files_containing(instance, persona(card_dir).given_name.encode()) == []
    assert files_containing(instance, photo[8:64]) == []


# Screens ----------------------------------------------------------------------------------


def test_screen_explains_format(field_app) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]

    response = client.get(f"/incidents/{incident_id}/card/face")
    page = response.get_data(as_text=True)

    assert "昭和55年2月17日 → <b>550217</b>" in page
    assert "西暦" in page
    assert "セキュリティコード" in page
    assert "残り 3 回" in page
    assert response.headers["Cache-Control"].startswith("no-store")


def test_screen_genuine_result(field_app, card_dir) -> None:
    holder = persona(card_dir)
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]

    submitted = client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))
    response = client.get(submitted.headers["Location"])
    page = response.get_data(as_text=True)

    assert "真正なカードです" in page
    assert holder.full_name in page
    assert holder.address in page
    assert "card/face/photo.png" in page
    assert response.headers["Cache-Control"].startswith("no-store")


def test_screen_photo_not_cached(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))

    response = client.get(f"/incidents/{incident_id}/card/face/photo.png")

    assert response.mimetype == "image/png"
    assert response.headers["Cache-Control"].startswith("no-store")
    assert response.headers["Pragma"] == "no-cache"


def test_photo_needs_signed_in_crew(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))

    anonymous = field_app.test_client().get(f"/incidents/{incident_id}/card/face/photo.png")

    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].endswith("/signin")


def test_photo_gone_after_signout(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))
    client.post("/signout")

    next_shift = signed_in(field_app)

    assert next_shift.get(f"/incidents/{incident_id}/card/face/photo.png").status_code == 404
    assert "/card/face?" in next_shift.get(f"/incidents/{incident_id}/card/face/result").headers["Location"]


def test_screen_forged_result(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    with field_app.app_context():
        forge(virtual_card(field_app, card_dir))

    client.post(f"/incidents/{incident_id}/card/face", data=number_b_parts(card_dir))
    page = client.get(f"/incidents/{incident_id}/card/face/result").get_data(as_text=True)

    assert 'data-outcome="forged"' in page
    assert "偽造されたカードの可能性" in page
    assert persona(card_dir).full_name not in page
    assert 'id="card-face-photo"' not in page


def test_screen_wrong_number_message(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    parts = {**number_b_parts(card_dir), "security_code": "0000" if number_b_parts(card_dir)["security_code"] != "0000" else "1111"}

    response = client.post(f"/incidents/{incident_id}/card/face", data=parts)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "照合番号Bが一致しません" in page
    assert "残り 2 回" in page
    assert parts["security_code"] not in page.split('id="number-b-form"')[1]


def test_screen_last_try_checkbox(field_app, card_dir) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    parts = {**number_b_parts(card_dir), "birth": "010101"}
    for _ in range(2):
        client.post(f"/incidents/{incident_id}/card/face", data=parts)

    page = client.get(f"/incidents/{incident_id}/card/face").get_data(as_text=True)

    assert 'id="confirm-last-try"' in page
    assert "残り 1 回" in page


def test_view_repr_hides_patient() -> None:
    view = card_face.CardFaceView(outcome="genuine", name="山田\u3000博", address="札幌市", photo_png=PNG_SIGNATURE)

    assert "山田" not in repr(view)
    assert "札幌" not in repr(view)
    assert "PNG" not in repr(view)
