"""A fresh hub with two fire departments, their devices and administrators.

Department FD-A has three incidents sent through the real incident-report API;
department FD-B has one, whose figures must never show up for FD-A.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import accounts, seed
from hub.app import create_app
from hub.models import Organization, db
from hub.statistics.models import STATISTICS_TABLES

DEVICE_A = "device-a-token"
DEVICE_B = "device-b-token"
ADMIN_A = "admin-a-token"
ADMIN_B = "admin-b-token"
USER_PASSWORD = "correct horse battery staple"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report_payload(incident_id: str, unit: str, call: str, arrived: str | None, departed: str | None, inquiries: int, **extra) -> dict:
    times = {"call_received": call, "arrived_scene": arrived, "departed_scene": departed}
    payload = {
        "incident_id": incident_id,
        "unit_name": unit,
        "reported_at": call,
        "age_band": "80-89",
        "sex": "female",
        "times": {key: value for key, value in times.items() if value is not None},
        "severity": "moderate",
        "inquiries": [
            {"hospital_code": f"H-{n}", "asked_at": call, "result": "declined", "reason": "beds_full"}
            for n in range(inquiries - 1)
        ]
        + ([{"hospital_code": "H-X", "asked_at": call, "result": "accepted"}] if inquiries else []),
        "myna": {"attempted": True, "card_present": True, "card_read": True, "linked": True, "consent_mode": "verbal", "viewed": True},
    }
    payload.update(extra)
    return payload


@pytest.fixture()
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that makes ``create_app()`` (and the CLI) use a fresh database."""
    trust = tmp_path / "trust"
    trust.mkdir()
    env = {
        "HUB_INSTANCE_DIR": str(tmp_path),
        "HUB_TRUST_DIR": str(trust),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        "HUB_SECRET_KEY": "statistics-test-secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture()
def app(hub_env: dict[str, str]):
    app = create_app({"TESTING": True})
    with app.app_context():
        # No migration creates the statistics tables yet, so tests create them here.
        db.metadata.create_all(db.engine, tables=STATISTICS_TABLES)
        db.session.add_all(
            [
                Organization(code="FD-A", kind="fire_department", name="札幌市消防局"),
                Organization(code="FD-B", kind="fire_department", name="別の消防本部"),
            ]
        )
        db.session.commit()
        seed.seed_clients(
            [
                seed.ClientSpec("device-a", "device", "FD-A", DEVICE_A),
                seed.ClientSpec("device-b", "device", "FD-B", DEVICE_B),
                seed.ClientSpec("admin-a", "admin", "FD-A", ADMIN_A),
                seed.ClientSpec("admin-b", "admin", "FD-B", ADMIN_B),
            ]
        )
        accounts.create_user("fd-a-admin", "統計管理者", "fire_admin", "FD-A", USER_PASSWORD)
        accounts.create_user("fd-a-nurse", "病院職員", "hospital_staff", "FD-A", USER_PASSWORD)
        db.session.commit()

    client = app.test_client()
    incidents = [
        (DEVICE_A, report_payload("A-1", "中央救急1", "2026-01-05T10:00:00+09:00", "2026-01-05T10:08:00+09:00", "2026-01-05T10:40:00+09:00", 4)),
        (DEVICE_A, report_payload("A-2", "中央救急1", "2026-01-20T10:00:00+09:00", "2026-01-20T10:12:00+09:00", "2026-01-20T10:30:00+09:00", 1)),
        (DEVICE_A, report_payload("A-3", "北救急1", "2026-02-03T10:00:00+09:00", None, None, 2, myna={"attempted": False})),
        (DEVICE_B, report_payload("B-1", "=HYPERLINK(\"x\")", "2026-01-07T10:00:00+09:00", "2026-01-07T11:40:00+09:00", "2026-01-07T13:00:00+09:00", 9)),
    ]
    for token, payload in incidents:
        response = client.post("/api/v1/incident-reports", json=payload, headers=auth(token))
        assert response.status_code == 201, response.get_data(as_text=True)

    return app
