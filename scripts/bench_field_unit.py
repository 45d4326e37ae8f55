"""Benchmarks of the field unit: card tap to summary on screen, and draining a long outbox.

Runs a real hub process on a free loopback port (instance built by setup_demo into a
temporary folder) and the field unit in-process through Flask's test client.

1. Card tap to summary: POST 読み取り, POST 口頭同意 (or the PIN with ``--consent pin``),
   GET the summary screen, on the in-process virtual card with the card core's latency
   model (``mynacard.virtual.latency``, preset chosen with ``--latency``). Reports the
   total, the card's modelled delay, the virtual card's own computing, the time spent
   waiting for the hub, and the rest: the field unit's own work.
2. Drain: N transfer packets queued while the hub was unreachable, then one drain
   after reconnection. Reports events per second.

Usage: ``python scripts/bench_field_unit.py [--taps 20] [--latency contact] [--consent verbal]
[--events 10000]``
"""

from __future__ import annotations

import argparse
import dataclasses
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

from mynacard.virtual.latency import PRESETS, LatencyModel  # noqa: E402


class CardClock:
    """Sums the card's modelled delay (the latency model's sleeps) and the wall time of every exchange."""

    def __init__(self) -> None:
        self.slept = 0.0
        self.in_card = 0.0

    def reset(self) -> None:
        self.slept = 0.0
        self.in_card = 0.0

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        self.slept += seconds

    def model(self, preset: str) -> LatencyModel:
        """Return the card core's preset with this clock's sleep, so the delay is the preset's own."""
        return dataclasses.replace(PRESETS[preset], sleep=self.sleep)

    def wrap(self, card) -> None:  # type: ignore[no-untyped-def]
        """Time every exchange of ``card``, the latency model's sleep included."""
        plain_transmit = card.transmit

        def timed_transmit(apdu: bytes) -> bytes:
            started = time.perf_counter()
            try:
                return plain_transmit(apdu)
            finally:
                self.in_card += time.perf_counter() - started

        card.transmit = timed_transmit


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


def make_app(instance: Path, hub_url: str, token: str, card_dir: Path, latency: LatencyModel | None = None):
    os.environ["FIELD_INSTANCE_DIR"] = str(instance)
    from field_unit.app import create_app

    settings = {"HUB_URL": hub_url, "DEVICE_TOKEN": token, "VIRTUAL_CARD_DIR": str(card_dir), "SCHEDULER": False, "LOCK_SECONDS": 3600}
    return create_app({**settings, "VIRTUAL_CARD_LATENCY": latency})


def _timed(method, wait: dict[str, float]):  # type: ignore[no-untyped-def]
    """Wrap a HubClient method so that its wall time is added to ``wait["seconds"]``."""

    def timed(self, *args):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            wait["seconds"] += time.perf_counter() - started

    return timed


# PIN of the first demo card, which scripts/setup_demo.py issues with 1234.
DEMO_PIN = "1234"


def bench_tap(app, clock: CardClock, taps: int, preset: str, consent: str) -> None:
    from field_unit import card_step
    from hub.client import HubClient

    with app.app_context():
        clock.wrap(card_step._virtual_card(Path(app.config["VIRTUAL_CARD_DIR"])))
    hub_wait = {"seconds": 0.0}
    for name in ("request_summary", "create_challenge"):
        setattr(HubClient, name, _timed(getattr(HubClient, name), hub_wait))

    client = app.test_client()
    client.post("/signin", data={"unit_name": "ベンチ隊", "leader_name": "計測", "code": "2468"})
    totals, cards, simulator, hubs = [], [], [], []
    for _ in range(taps):
        incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
        clock.reset()
        hub_wait["seconds"] = 0.0
        started = time.perf_counter()
        client.post(f"/incidents/{incident_id}/card/read")
        if consent == "pin":
            client.post(f"/incidents/{incident_id}/consent/pin", data={"pin": DEMO_PIN})
        else:
            client.post(f"/incidents/{incident_id}/consent/verbal")
        page = client.get(f"/incidents/{incident_id}/summary").get_data(as_text=True)
        totals.append(time.perf_counter() - started)
        cards.append(clock.slept)
        simulator.append(clock.in_card - clock.slept)
        hubs.append(hub_wait["seconds"])
        assert "注意が必要な情報" in page, "the summary screen did not render"

    own = [t - c - v - h for t, c, v, h in zip(totals, cards, simulator, hubs)]
    print(f"card tap to summary on screen, {consent} consent, {taps} taps, latency preset {preset} (median / max):")
    print(f"  total        {statistics.median(totals) * 1000:7.1f} / {max(totals) * 1000:7.1f} ms")
    print(f"  card (model) {statistics.median(cards) * 1000:7.1f} / {max(cards) * 1000:7.1f} ms")
    print(f"  virtual card {statistics.median(simulator) * 1000:7.1f} / {max(simulator) * 1000:7.1f} ms")
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
    parser.add_argument("--latency", choices=sorted(PRESETS), default="contact", help="仮想カードの遅延モデル (既定: contact)")
    parser.add_argument("--consent", choices=["verbal", "pin"], default="verbal", help="同意の方法 (既定: verbal)")
    parser.add_argument("--events", type=int, default=10_000, help="送信待ちに積むイベント数 (既定: 10000)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-field-"))
    try:
        description = setup_demo.build(work / "var", setup_demo.shared_data_dir())
        hub, hub_url = start_hub(work / "var", description)
        try:
            token = description["tokens"]["field_unit"]
            card_dir = Path(description["cards"][0]["card_dir"])
            clock = CardClock()
            app = make_app(work / "field", hub_url, token, card_dir, clock.model(args.latency))
            bench_tap(app, clock, args.taps, args.latency, args.consent)
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
