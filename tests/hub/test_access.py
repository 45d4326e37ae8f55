"""Identity errors, grant revocation, the emergency review list, sign-in and the
patient's access history, including attempts to cross organisation boundaries."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from hub import accounts
from hub.models import ApiClient, ConsentGrant, Organization, User, db
from mynacard import devpki
from mynacard.persona import CardPersona

from .conftest import DEVICE_TOKEN, HOSPITAL_TOKEN, auth, certificate_b64
from .test_api import packet, request_summary
from .test_consent_pin import card_signature

ADMIN_PASSWORD = "correct horse battery"


def make_crl(pki: devpki.DevRoot, serials: list[str], folder) -> None:
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.certificate.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
    )
    for serial in serials:
        revoked = x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(now - timedelta(hours=1)).build()
        builder = builder.add_revoked_certificate(revoked)

    crl = builder.sign(pki.key, hashes.SHA256())
    (folder / "root.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))


def add_admin(app, login: str = "admin-1", organization: str = "FD-1") -> None:
    with app.app_context():
        accounts.create_user(login, "管理者", "fire_admin", organization, ADMIN_PASSWORD)
        db.session.commit()


def sign_in(client, login: str = "admin-1", password: str = ADMIN_PASSWORD):
    return client.post("/api/v1/sessions", json={"login": login, "password": password})


def admin_token(client, app, login: str = "admin-1", organization: str = "FD-1") -> str:
    add_admin(app, login, organization)
    return sign_in(client, login).json["token"]


# Identity errors


def test_unknown_card_problem(client, tmp_path) -> None:
    other_root = devpki.ensure_root(tmp_path / "other-pki")
    persona = CardPersona("P-X", "他", "人", date(1970, 1, 1), "1", "東京都", "1111")
    stranger = devpki.issue_card(other_root, persona, tmp_path / "stranger")

    response = request_summary(client, stranger)

    assert response.status_code == 422
    assert response.json["code"] == "unknown_card"
    assert response.mimetype == "application/problem+json"


def test_expired_card_problem(client, pki, tmp_path) -> None:
    persona = CardPersona("P-OLD", "期限", "切れ", date(1950, 1, 1), "1", "北海道", "2222")
    old = devpki.issue_card(pki, persona, tmp_path / "old", now=datetime(2010, 1, 1, tzinfo=timezone.utc))

    response = request_summary(client, old)

    assert response.status_code == 422
    assert response.json["code"] == "expired_certificate"


def test_unlinked_card_problem(client, unlinked_card) -> None:
    response = request_summary(client, unlinked_card)

    assert response.status_code == 404
    assert response.json["code"] == "unlinked_card"


def test_revoked_card_problem(app, client, pki, issued_card, tmp_path) -> None:
    crl_dir = tmp_path / "crl"
    crl_dir.mkdir()
    make_crl(pki, [issued_card.serial_hex], crl_dir)
    app.config["CRL_DIR"] = str(crl_dir)

    response = request_summary(client, issued_card)

    assert response.status_code == 422
    assert response.json["code"] == "revoked_certificate"
    assert "失効" in response.json["detail"]


def test_crl_without_serial_passes(app, client, pki, unlinked_card, issued_card, tmp_path) -> None:
    crl_dir = tmp_path / "crl-other"
    crl_dir.mkdir()
    make_crl(pki, [unlinked_card.serial_hex], crl_dir)
    app.config["CRL_DIR"] = str(crl_dir)

    assert request_summary(client, issued_card).status_code == 200


def test_untrusted_crl_ignored(app, client, issued_card, tmp_path) -> None:
    forger = devpki.ensure_root(tmp_path / "forger")
    crl_dir = tmp_path / "crl-forged"
    crl_dir.mkdir()
    make_crl(forger, [issued_card.serial_hex], crl_dir)
    app.config["CRL_DIR"] = str(crl_dir)

    # The forger's root has the same subject name but another key, so its CRL fails the signature check.
    assert request_summary(client, issued_card).status_code == 200


# Grants


def test_revoked_grant_blocks_transfer(client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    revoked = client.post(f"/api/v1/grants/{summary['grant_id']}/revoke", headers=auth(DEVICE_TOKEN))

    response = client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))

    assert revoked.status_code == 200
    assert revoked.json["revoked_at"] is not None
    assert response.status_code == 403
    assert response.json["code"] == "consent_expired"


def test_expired_grant_blocks_transfer(app, client, issued_card) -> None:
    summary = request_summary(client, issued_card).json
    with app.app_context():
        grant = db.session.get(ConsentGrant, summary["grant_id"])
        grant.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()

    response = client.post("/api/v1/transfers", json=packet(summary["grant_id"], summary), headers=auth(DEVICE_TOKEN))

    assert response.status_code == 403


def test_revoke_other_device_grant_not_found(app, client, issued_card) -> None:
    from hub import seed

    with app.app_context():
        seed.seed_clients([seed.ClientSpec("unit-2", "device", "FD-1", "unit-2-token")])
    summary = request_summary(client, issued_card).json

    response = client.post(f"/api/v1/grants/{summary['grant_id']}/revoke", headers=auth("unit-2-token"))

    assert response.status_code == 404


# Emergency review list


def test_emergency_grant_in_review_list(app, client, issued_card) -> None:
    grant_id = request_summary(client, issued_card, mode="emergency", emergency_reason="unconscious").json["grant_id"]
    request_summary(client, issued_card)
    token = admin_token(client, app)

    reviews = client.get("/api/v1/emergency-reviews", headers=auth(token)).json["reviews"]

    assert [review["grant_id"] for review in reviews] == [grant_id]
    assert reviews[0]["reason"] == "意識障害のため同意取得困難"
    assert "patient" not in reviews[0]


def test_review_marks_grant_reviewed(app, client, issued_card) -> None:
    grant_id = request_summary(client, issued_card, mode="emergency", emergency_reason="cardiac_arrest").json["grant_id"]
    token = admin_token(client, app)

    response = client.post(f"/api/v1/emergency-reviews/{grant_id}", json={"note": "妥当"}, headers=auth(token))

    assert response.status_code == 200
    assert response.json["reviewed_by"] == "admin-1"
    with app.app_context():
        assert db.session.get(ConsentGrant, grant_id).needs_review is False


def test_other_department_sees_no_reviews(app, client, issued_card) -> None:
    with app.app_context():
        db.session.add(Organization(code="FD-2", kind="fire_department", name="別の消防局"))
        db.session.commit()
    grant_id = request_summary(client, issued_card, mode="emergency", emergency_reason="unconscious").json["grant_id"]
    token = admin_token(client, app, "admin-2", "FD-2")

    listed = client.get("/api/v1/emergency-reviews", headers=auth(token)).json["reviews"]
    reviewed = client.post(f"/api/v1/emergency-reviews/{grant_id}", json={}, headers=auth(token))

    assert listed == []
    assert reviewed.status_code == 404


def test_unit_under_station_reaches_department(app, client, issued_card) -> None:
    from hub import seed

    with app.app_context():
        db.session.add_all([
            Organization(code="ST-1", kind="station", name="中央署", parent_code="FD-1"),
            Organization(code="U-1", kind="unit", name="中央救急1", parent_code="ST-1"),
        ])
        db.session.commit()
        seed.seed_clients([seed.ClientSpec("tablet-u1", "device", "U-1", "tablet-u1-token")])
    client.post("/api/v1/summaries", headers=auth("tablet-u1-token"), json={
        "certificate_der_b64": certificate_b64(issued_card), "consent_mode": "emergency",
        "emergency_reason": "other", "incident_id": "INC-9"})
    token = admin_token(client, app)

    reviews = client.get("/api/v1/emergency-reviews", headers=auth(token)).json["reviews"]

    assert [review["unit"] for review in reviews] == ["tablet-u1"]


def test_device_token_cannot_list_reviews(client) -> None:
    assert client.get("/api/v1/emergency-reviews", headers=auth(DEVICE_TOKEN)).status_code == 401


# Users and sign-in


def test_password_stored_hashed(app) -> None:
    add_admin(app)

    with app.app_context():
        stored = db.session.execute(db.select(User.password_hash)).scalar_one()
    assert ADMIN_PASSWORD not in stored
    assert stored.startswith("scrypt:")


def test_wrong_password_rejected(app, client) -> None:
    add_admin(app)

    response = sign_in(client, password="wrong")

    assert response.status_code == 401
    assert response.json["code"] == "invalid_credentials"


def test_unknown_login_rejected(client) -> None:
    assert sign_in(client, login="nobody").status_code == 401


def test_user_token_not_device(app, client) -> None:
    token = admin_token(client, app)

    assert client.post("/api/v1/challenges", headers=auth(token)).status_code == 401


def test_hospital_token_not_admin(client) -> None:
    assert client.get("/api/v1/emergency-reviews", headers=auth(HOSPITAL_TOKEN)).status_code == 401


# Patient access history


def patient_token(client, card) -> str:
    challenge = client.post("/api/v1/patient/challenges").json
    signature = card_signature(card.card_dir, base64.b64decode(challenge["challenge_b64"]))
    response = client.post("/api/v1/patient/sessions", json={
        "certificate_der_b64": certificate_b64(card), "challenge_id": challenge["challenge_id"], "signature_b64": signature})
    assert response.status_code == 201, response.json
    return response.json["token"]


def test_access_history_lists_views(client, issued_card) -> None:
    request_summary(client, issued_card, mode="emergency", emergency_reason="unconscious")
    token = patient_token(client, issued_card)

    entries = client.get("/api/v1/patient/access-history", headers=auth(token)).json["entries"]

    assert entries[0]["organization"] == "試験消防局"
    assert entries[0]["action_label"] == "救急用サマリーの閲覧"
    assert entries[0]["legal_basis_label"] == "生命・身体の保護のため(同意取得困難)"


def test_patient_wrong_signature_rejected(client, issued_card) -> None:
    challenge = client.post("/api/v1/patient/challenges").json
    signature = card_signature(issued_card.card_dir, b"another challenge")

    response = client.post("/api/v1/patient/sessions", json={
        "certificate_der_b64": certificate_b64(issued_card), "challenge_id": challenge["challenge_id"], "signature_b64": signature})

    assert response.status_code == 403


def test_patient_token_sees_only_own(app, client, issued_card) -> None:
    token = patient_token(client, issued_card)

    # A patient token is not a device token: it cannot request anyone's summary.
    response = client.post("/api/v1/summaries", json={"certificate_der_b64": certificate_b64(issued_card),
                                                      "consent_mode": "verbal", "incident_id": "X"}, headers=auth(token))

    assert response.status_code == 401


def test_device_challenge_not_for_patient(client, issued_card) -> None:
    challenge = client.post("/api/v1/challenges", headers=auth(DEVICE_TOKEN)).json
    signature = card_signature(issued_card.card_dir, base64.b64decode(challenge["challenge_b64"]))

    response = client.post("/api/v1/patient/sessions", json={
        "certificate_der_b64": certificate_b64(issued_card), "challenge_id": challenge["challenge_id"], "signature_b64": signature})

    assert response.status_code == 403
