"""Killing the tablet app with SIGKILL loses nothing and sends nothing twice.

A drain runs as ``python -m field_unit drain`` against the real hub process and is
killed while it sends; a second drain finishes the queue. The hub must then hold
every packet exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from field_unit import transfers
from field_unit.incidents import open_incident
from field_unit.models import OutboxEvent, db
from tests.field_unit.conftest import REPO, demo_hospital, hub_rows, unreachable_url

PACKETS = 40


def _drain_env(app, hub) -> dict[str, str]:
    return {
        **os.environ,
        "FIELD_INSTANCE_DIR": app.instance_path,
        "FIELD_HUB_URL": hub.url,
        "FIELD_DEVICE_TOKEN": hub.device_token,
    }


def _hub_count(hub, packet_ids: list[str]) -> int:
    marks = ",".join("?" * len(packet_ids))
    return hub_rows(hub, f"SELECT COUNT(*) AS n FROM transfers WHERE packet_id IN ({marks})", *packet_ids)[0]["n"]


def test_sigkill_mid_drain(field_app, hub) -> None:
    with field_app.app_context():
        field_app.config["HUB_URL"] = unreachable_url()
        code = demo_hospital(hub)
        packet_ids = [transfers.queue_transfer(open_incident("隊", f"事案{i}"), [code], "隊", None, "").packet_id for i in range(PACKETS)]
        db.session.remove()

    env = _drain_env(field_app, hub)
    process = subprocess.Popen([sys.executable, "-m", "field_unit", "drain"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _hub_count(hub, packet_ids) < PACKETS // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    killed_at = _hub_count(hub, packet_ids)

    finished = subprocess.run([sys.executable, "-m", "field_unit", "drain"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    assert 0 < killed_at < PACKETS, f"the kill landed outside the drain ({killed_at} sent)"
    assert finished.returncode == 0, finished.stdout + finished.stderr
    rows = hub_rows(hub, f"SELECT packet_id, COUNT(*) AS n FROM transfers WHERE packet_id IN ({','.join('?' * PACKETS)}) GROUP BY packet_id", *packet_ids)
    assert sorted(row["packet_id"] for row in rows) == sorted(packet_ids)
    assert all(row["n"] == 1 for row in rows)
    forwards = hub_rows(hub, "SELECT detail FROM audit_events WHERE action = 'forward_transfer'")
    forwarded = [d for d in (row["detail"] for row in forwards) if any(p in d for p in packet_ids)]
    assert len(forwarded) == PACKETS
    with field_app.app_context():
        statuses = db.session.execute(db.select(OutboxEvent.status)).scalars().all()
    assert statuses == ["done"] * PACKETS


WRITER = """
import sys
from field_unit.app import create_app
from field_unit import timeline
from field_unit.incidents import open_incident
app = create_app({"SCHEDULER": False, "DEVICE_TOKEN": "unused"})
with app.app_context():
    while True:
        incident = open_incident("隊", "胸痛")
        timeline.stamp(incident.id, "call_received")
        print(incident.id, flush=True)
"""


def test_sigkill_mid_write(field_app, tmp_path: Path) -> None:
    env = {**os.environ, "FIELD_INSTANCE_DIR": field_app.instance_path}
    process = subprocess.Popen([sys.executable, "-c", WRITER], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    acknowledged = []
    while len(acknowledged) < 30:
        line = process.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    from field_unit.models import Incident, TimelineStamp

    with field_app.app_context():
        stored = set(db.session.execute(db.select(Incident.id)).scalars())
        stamped = set(db.session.execute(db.select(TimelineStamp.incident_id)).scalars())

    assert len(acknowledged) == 30
    assert set(acknowledged) <= stored
    assert set(acknowledged) <= stamped
