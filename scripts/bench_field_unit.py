"""Benchmarks of the field unit: card tap to summary on screen, and draining a long outbox.

Runs a real hub process on a free loopback port (instance built by setup_demo into a
temporary folder) and the field unit in-process through Flask's test client.

1. Card tap to summary: POST 読み取り, POST 口頭同意, GET the summary screen, on the
   virtual card behind a latency model (below). Reports the total, the time spent in
   the card, the time spent waiting for the hub, and the rest: the field unit's own work.
2. Drain: N transfer packets queued while the hub was unreachable, then one drain
   after reconnection. Reports events per second.

Usage: ``python scripts/bench_field_unit.py [--taps 20] [--events 10000]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import setup_demo  # noqa: E402

from mynacard.transport import Connection  # noqa: E402

# Latency model of a contact reader (an estimate, not a measurement of real cards):
# a fixed cost per APDU exchange plus a cost per byte moved, and extra time for the
# card's RSA-2048 signature.
PER_APDU_SECONDS = 0.030
PER_BYTE_SECONDS = 0.0001
SIGNATURE_SECONDS = 0.300


class LatencyConnection(Connection):
    """A connection that sleeps per exchange as the latency model gives, and sums the time slept."""

    slept = 0.0

    def __init__(self, inner: Connection) -> None:
        self.inner = inner

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.transmit(apdu)
        delay = PER_APDU_SECONDS + PER_BYTE_SECONDS * (len(apdu) + len(data))
        if len(apdu) > 1 and apdu[1] == 0x2A:
            delay += SIGNATURE_SECONDS
        time.sleep(delay)
        LatencyConnection.slept += delay
        return data, sw

    def close(self) -> None:
        self.inner.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_hub(var_dir: Path, description: dict) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "HUB_INSTANCE_DIR": str(var_dir / "hub"), "HUB_TRUST_DIR": description["trust_dir"]}
    log = open(var_dir / "hub.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("ハブが起動しませんでした")


def make_app(instance: Path, hub_url: str, token: str, card_dir: Path):
    os.environ["FIELD_INSTANCE_DIR"] = str(instance)
    from field_unit.app import create_app

    return create_app({"HUB_URL": hub_url, "DEVICE_TOKEN": token, "VIRTUAL_CARD_DIR": str(card_dir), "SCHEDULER": False, "LOCK_SECONDS": 3600})


def bench_tap(app, taps: int) -> None:
    from field_unit import card_step
    from hub.client import HubClient

    plain_open = card_step.open_connection
    card_step.open_connection = lambda: LatencyConnection(plain_open())
    hub_wait = {"seconds": 0.0}
    plain_request = HubClient.request_summary

    def timed_request(self, request):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return plain_request(self, request)
        finally:
            hub_wait["seconds"] += time.perf_counter() - started

    HubClient.request_summary = timed_request

    client = app.test_client()
    client.post("/signin", data={"unit_name": "ベンチ隊", "leader_name": "計測", "code": "2468"})
    totals, cards, hubs = [], [], []
    for _ in range(taps):
        incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
        LatencyConnection.slept = 0.0
        hub_wait["seconds"] = 0.0
        started = time.perf_counter()
        client.post(f"/incidents/{incident_id}/card/read")
        client.post(f"/incidents/{incident_id}/consent/verbal")
        page = client.get(f"/incidents/{incident_id}/summary").get_data(as_text=True)
        totals.append(time.perf_counter() - started)
        cards.append(LatencyConnection.slept)
        hubs.append(hub_wait["seconds"])
        assert "注意が必要な情報" in page, "the summary screen did not render"

    own = [t - c - h for t, c, h in zip(totals, cards, hubs)]
    print(f"card tap to summary on screen, verbal consent, {taps} taps (median / max):")
    print(f"  total        {statistics.median(totals) * 1000:7.1f} / {max(totals) * 1000:7.1f} ms")
    print(f"  card (model) {statistics.median(cards) * 1000:7.1f} / {max(cards) * 1000:7.1f} ms")
    print(f"  hub request  {statistics.median(hubs) * 1000:7.1f} / {max(hubs) * 1000:7.1f} ms")
    print(f"  field unit   {statistics.median(own) * 1000:7.1f} / {max(own) * 1000:7.1f} ms")


def bench_drain(app, hub_url: str, code: str, events: int) -> None:
    from field_unit import outbox
    from field_unit.incidents import open_incident
    from field_unit.models import db
    from field_unit.transfers import build_packet

    with app.app_context():
        incident = open_incident("ベンチ隊", "胸痛")
        started = time.perf_counter()
        for _ in range(events):
            packet = build_packet(incident, [code], "ベンチ隊", None, "")
            outbox.enqueue("transfer", packet.packet_id, packet.to_dict(), incident.id)
        db.session.commit()
        queued = time.perf_counter() - started

        app.config["HUB_URL"] = hub_url
        started = time.perf_counter()
        result = outbox.drain(force=True)
        drained = time.perf_counter() - started

    print(f"drain after reconnection: {events} transfer packets")
    print(f"  queueing     {queued:7.1f} s")
    print(f"  draining     {drained:7.1f} s ({result.sent} sent, {result.rejected} rejected, {result.sent / drained:.0f} events/s)")


def main() -> int:
    parser = argparse.ArgumentParser(description="救急隊端末のベンチマーク")
    parser.add_argument("--taps", type=int, default=20, help="カード読み取りの回数 (既定: 20)")
    parser.add_argument("--events", type=int, default=10_000, help="送信待ちに積むイベント数 (既定: 10000)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-field-"))
    try:
        description = setup_demo.build(work / "var", setup_demo.shared_data_dir())
        hub, hub_url = start_hub(work / "var", description)
        try:
            token = description["tokens"]["field_unit"]
            card_dir = Path(description["cards"][0]["card_dir"])
            app = make_app(work / "field", hub_url, token, card_dir)
            bench_tap(app, args.taps)
            drain_app = make_app(work / "field-drain", f"http://127.0.0.1:{free_port()}", token, card_dir)
            bench_drain(drain_app, hub_url, description["demo_hospital"]["code"], args.events)
        finally:
            hub.terminate()
            hub.wait(timeout=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
