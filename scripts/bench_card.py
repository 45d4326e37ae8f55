"""Benchmark: read and verify the auth certificate from the virtual card with the latency model on.

Measures the card core's real flow (SELECT the JPKI AP, check the token, read EF 000A
in short chunks, verify the certificate against the trust store) and prints it next
to the minimum the card allows: SELECT AP, SELECT EF and one READ BINARY per 256
bytes, timed with the same latency model.

Usage: ``python scripts/bench_card.py [--runs 30] [--latency contact|contactless|off] [--pcscd]``

``--pcscd`` runs the exchange through a private pcscd, vpcd and pyscard (needs root and
the Debian packages pcscd and vsmartcard-vpcd) instead of the in-process connection.
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mynacard import devpki  # noqa: E402
from mynacard.apdu import ApduProtocol  # noqa: E402
from mynacard.certs import TrustStore, verify_auth_certificate  # noqa: E402
from mynacard.jpki import JpkiSession  # noqa: E402
from mynacard.persona import CardPersona  # noqa: E402
from mynacard.transport import Connection, VirtualConnection  # noqa: E402
from mynacard.virtual.card import VirtualCard  # noqa: E402
from mynacard.virtual.latency import PRESETS, LatencyModel  # noqa: E402

SELECT_AP_LENGTH = 15  # 00 A4 04 0C 0A + 10-byte AID
SELECT_EF_LENGTH = 7  # 00 A4 02 0C 02 + FID
READ_LENGTH = 5
STATUS_LENGTH = 2
LOCK_WAIT_SECONDS = 600.0


class CountingConnection(Connection):
    """Counts the APDUs sent through another connection."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.count = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.count += 1
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()


def minimum_delay(model: LatencyModel, certificate_length: int) -> tuple[int, float]:
    """Return the APDU count and the modelled time of the minimum read: SELECT AP, SELECT EF, 256-byte reads."""
    reads = math.ceil(certificate_length / 256)
    seconds = model.delay(SELECT_AP_LENGTH, STATUS_LENGTH) + model.delay(SELECT_EF_LENGTH, STATUS_LENGTH)
    remaining = certificate_length
    for _ in range(reads):
        chunk = min(256, remaining)
        seconds += model.delay(READ_LENGTH, chunk + STATUS_LENGTH)
        remaining -= chunk
    return 2 + reads, seconds


def read_and_verify(connection: Connection, trust: TrustStore) -> int:
    session = JpkiSession(ApduProtocol(connection))
    session.ensure_my_number_card()
    der = session.read_auth_certificate()
    verify_auth_certificate(der, trust)
    return len(der)


def issue(work: Path) -> tuple[Path, TrustStore]:
    root = devpki.ensure_root(work / "pki")
    persona = CardPersona("bench", "黒桐", "幹也", date(1980, 2, 17), "1", "東京都清瀬市", "4821")
    issued = devpki.issue_card(root, persona, work / "card")
    assert root.trust_dir is not None
    return issued.card_dir, TrustStore.from_folder(root.trust_dir)


def run_in_process(card_dir: Path, trust: TrustStore, model: LatencyModel | None, runs: int) -> tuple[list[float], int, int]:
    timings = []
    count = length = 0
    for _ in range(runs):
        card = VirtualCard.from_dir(card_dir, latency=model)
        connection = CountingConnection(VirtualConnection(card))
        started = time.perf_counter()
        length = read_and_verify(connection, trust)
        timings.append(time.perf_counter() - started)
        count = connection.count
    return timings, count, length


def run_through_pcscd(card_dir: Path, trust: TrustStore, model: LatencyModel | None, runs: int, work: Path) -> tuple[list[float], int, int]:
    from mynacard import pcsc
    from mynacard.virtual.pcscd import PcscdProcess
    from mynacard.virtual.vpcd import serve

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    card = VirtualCard.from_dir(card_dir, latency=model)
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(card, "127.0.0.1", port, stop), kwargs={"retry_interval": 0.1}, daemon=True)
    with PcscdProcess(work / "pcscd", port, lock_wait=LOCK_WAIT_SECONDS):
        thread.start()
        pcsc.wait_for_card(timeout=15.0, poll=0.2)
        timings = []
        count = length = 0
        for _ in range(runs):
            started = time.perf_counter()
            with pcsc.connect() as raw:
                connection = CountingConnection(raw)
                length = read_and_verify(connection, trust)
            timings.append(time.perf_counter() - started)
            count = connection.count
        stop.set()
        thread.join(5)
    return timings, count, length


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="number of measured reads (default 30)")
    parser.add_argument("--latency", choices=["contact", "contactless", "off"], default="contact", help="latency model of the virtual card (default contact)")
    parser.add_argument("--pcscd", action="store_true", help="go through pcscd, vpcd and pyscard")
    args = parser.parse_args()

    model = PRESETS.get(args.latency)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        card_dir, trust = issue(work)
        if args.pcscd:
            timings, count, length = run_through_pcscd(card_dir, trust, model, args.runs, work)
        else:
            timings, count, length = run_in_process(card_dir, trust, model, args.runs)

    timings_ms = sorted(t * 1000 for t in timings)
    p95 = timings_ms[min(len(timings_ms) - 1, math.ceil(0.95 * len(timings_ms)) - 1)]
    print(f"path: {'pcscd + vpcd + pyscard' if args.pcscd else 'in-process'}, latency model: {args.latency}, runs: {args.runs}")
    print(f"auth certificate: {length} bytes")
    print("| flow | APDUs | median ms | p95 ms | min ms | max ms |")
    print("|---|---|---|---|---|---|")
    print(
        f"| identify + read + verify | {count} | {statistics.median(timings_ms):.1f} | {p95:.1f}"
        f" | {timings_ms[0]:.1f} | {timings_ms[-1]:.1f} |"
    )
    if model is not None:
        minimum_count, minimum_seconds = minimum_delay(model, length)
        print(f"| minimum (model only) | {minimum_count} | {minimum_seconds * 1000:.1f} | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
