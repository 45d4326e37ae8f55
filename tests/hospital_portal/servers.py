"""A real hub and a real portal on loopback HTTP for the portal tests.

The hub runs with its own SQLite file, seeded with one fire department, two
hospitals and their API clients. Packets go in through the hub's HTTP API with
the device token, as the field unit sends them.
"""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from hub.app import create_app as create_hub_app
from hub.auth import token_digest
from hub.client import HubClient
from hub.contract import TransferPacket, TransferView
from hub.models import ApiClient, CardLink, ConsentGrant, Medication, Organization, Patient, db

HOSPITAL_CODE = "H-1"
HOSPITAL_NAME = "港中央病院"
OTHER_HOSPITAL_CODE = "H-2"
OTHER_HOSPITAL_NAME = "別の病院"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerThread:
    """A WSGI app served by werkzeug on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", free_port(), app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)


@dataclass
class HubUnderTest:
    app: Flask
    server: ServerThread
    device_token: str
    hospital_token: str
    other_hospital_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def device(self) -> HubClient:
        return HubClient(self.url, self.device_token)

    def send(self, packet: TransferPacket) -> list[TransferView]:
        """Send a packet as the field unit does; a packet with a summary gets a consent grant first."""
        if packet.summary is not None:
            packet.grant_id = self._grant(packet.incident_id)
            packet.summary.grant_id = packet.grant_id

        return self.device().send_transfer(packet)

    def _grant(self, incident_id: str) -> str:
        with self.app.app_context():
            device = db.session.execute(db.select(ApiClient).where(ApiClient.role == "device")).scalar_one()
            patient = db.session.execute(db.select(Patient)).scalars().first()
            grant = ConsentGrant(
                id=str(uuid.uuid4()), patient_id=patient.id, incident_id=incident_id, client_id=device.id, mode="verbal",
                expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
            )
            db.session.add(grant)
            db.session.commit()
            return grant.id


def start_hub(tmp_dir: Path, trust_dir: Path) -> HubUnderTest:
    """Start a seeded hub on a free loopback port."""
    app = create_hub_app({"TRUST_DIR": str(trust_dir), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir / 'hub.sqlite3'}"})
    tokens = {"device": "device-" + uuid.uuid4().hex, "h1": "hospital1-" + uuid.uuid4().hex, "h2": "hospital2-" + uuid.uuid4().hex}
    with app.app_context():
        _seed(tokens)

    return HubUnderTest(app, ServerThread(app).start(), tokens["device"], tokens["h1"], tokens["h2"])


def _seed(tokens: dict[str, str]) -> None:
    db.session.add_all([
        Organization(code="FD-1", kind="fire_department", name="試験消防局"),
        Organization(code=HOSPITAL_CODE, kind="hospital", name=HOSPITAL_NAME, emergency_designated=True),
        Organization(code=OTHER_HOSPITAL_CODE, kind="hospital", name=OTHER_HOSPITAL_NAME, emergency_designated=True),
    ])
    db.session.commit()
    db.session.add_all([
        ApiClient(name="港救急1", role="device", organization_code="FD-1", token_sha256=token_digest(tokens["device"])),
        ApiClient(name=HOSPITAL_NAME, role="hospital", organization_code=HOSPITAL_CODE, token_sha256=token_digest(tokens["h1"])),
        ApiClient(name=OTHER_HOSPITAL_NAME, role="hospital", organization_code=OTHER_HOSPITAL_CODE, token_sha256=token_digest(tokens["h2"])),
    ])
    patient = Patient(
        patient_key="P-PORTAL-1", family_name="救急", given_name="花子", family_kana="キュウキュウ", given_kana="ハナコ",
        birth_date=date(1940, 4, 1), sex="2", address="東京都港区芝公園1-1", dialysis=True, last_checkup_on=None,
    )
    db.session.add(patient)
    db.session.flush()
    # The hub forwards its own summary, built for a card-linked patient, so the
    # link and the record the tests look for live in the hub.
    db.session.add(CardLink(issuer="CN=test", serial_hex="01", patient_id=patient.id))
    db.session.add(Medication(
        patient_id=patient.id, drug_code="333000001", drug_name="ワルファリンK錠1mg", ingredient="ワルファリンカリウム",
        dispensed_on=date.today() - timedelta(days=12), days=30, dose="1日1回", hospital_name="みなと薬局", source="claims",
    ))
    db.session.commit()


def portal_config(hub: HubUnderTest, tmp_dir: Path, **overrides: Any) -> dict[str, Any]:
    config = {
        "HUB_URL": hub.url,
        "HUB_TOKEN": hub.hospital_token,
        "HOSPITAL_CODE": HOSPITAL_CODE,
        "HOSPITAL_NAME": HOSPITAL_NAME,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir / 'portal.sqlite3'}",
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "HUB_POLL_SECONDS": 0.0,
        "SCREEN_POLL_SECONDS": 1.0,
        # Off by default; these tests read /api/inbox the way the demo stack does.
        "API_LOOPBACK_OPEN": True,
    }
    config.update(overrides)
    return config
