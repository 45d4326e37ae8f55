"""Benchmark the hub: 救急用サマリー requests per second with auditing on, against a
bare endpoint (one indexed read, one insert) on the same stack, on SQLite and PostgreSQL.

Each backend gets a fresh database, a development PKI, one linked card and a
patient with a few records; the hub runs under waitress on a free loopback port
in this process, and one client thread sends the requests one after another.

    .venv/bin/python scripts/bench_hub.py --requests 300
"""

from __future__ import annotations

import argparse
import base64
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hub import seed  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.models import Insurance, Medication, Organization, Patient, Visit, db  # noqa: E402
from mynacard import devpki  # noqa: E402
from mynacard.persona import CardPersona  # noqa: E402

TOKEN = "bench-device-token"
POSTGRES_URL = "postgresql+psycopg://myna_test:myna_test@127.0.0.1:5432/myna_hub_test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_hub(card: devpki.IssuedCard) -> None:
    today = date.today()
    db.session.add(Organization(code="FD-B", kind="fire_department", name="ベンチ消防局"))
    patient = Patient(patient_key="P-BENCH", family_name="試験", given_name="花子", family_kana="シケン", given_kana="ハナコ",
                      birth_date=date(1950, 4, 1), sex="2", address="北海道札幌市")
    db.session.add(patient)
    db.session.flush()
    db.session.add(Insurance(patient_id=patient.id, insurer_number="39011001", insurer_name="広域連合", symbol="",
                             number="1", branch="00", relationship="本人", copay_ratio=10, valid_from=date(2020, 4, 1)))
    for day in range(10):
        db.session.add(Medication(patient_id=patient.id, drug_code=f"D{day}", drug_name=f"薬{day}", ingredient=f"成分{day}",
                                  dispensed_on=today - timedelta(days=day * 7), days=28, dose="1日1回", hospital_name="病院",
                                  source="claims"))
        db.session.add(Visit(patient_id=patient.id, hospital_code="H", hospital_name="病院",
                             visited_on=today - timedelta(days=day * 7), department="内科"))
    db.session.commit()
    seed.seed_card_links([seed.CardLinkSpec("P-BENCH", card.issuer, card.serial_hex)])
    seed.seed_clients([seed.ClientSpec("bench-unit", "device", "FD-B", TOKEN)])


def measure(session: requests.Session, url: str, body: dict | None, count: int) -> dict:
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        response = session.post(url, json=body, timeout=30)
        latencies.append(time.perf_counter() - begin)
        response.raise_for_status()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": count / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def run_backend(name: str, database_config: dict, workdir: Path, count: int) -> dict:
    import waitress.server

    pki = devpki.ensure_root(workdir / "pki")
    persona = CardPersona("P-BENCH", "試験", "花子", date(1950, 4, 1), "2", "北海道札幌市", "1234")
    card = devpki.issue_card(pki, persona, workdir / f"card-{name}")
    app = create_app({"TRUST_DIR": str(pki.trust_dir), "BENCHMARK_ENDPOINT": True, **database_config})
    with app.app_context():
        seed_hub(card)

    port = free_port()
    server = waitress.server.create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    base = f"http://127.0.0.1:{port}/api/v1"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    summary_body = {"certificate_der_b64": base64.b64encode(card.certificate_der).decode("ascii"),
                    "consent_mode": "verbal", "incident_id": "INC-BENCH"}
    measure(session, f"{base}/bench/bare", None, 20)
    measure(session, f"{base}/summaries", summary_body, 20)
    results = {
        "bare": measure(session, f"{base}/bench/bare", None, count),
        "summary": measure(session, f"{base}/summaries", summary_body, count),
    }
    server.close()
    with app.app_context():
        db.engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="ハブの救急用サマリー処理性能を測定します")
    parser.add_argument("--requests", type=int, default=300, help="バックエンドごと・エンドポイントごとの要求数 (既定: 300)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="PostgreSQL の接続 URL (テスト用データベース)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        backends = {"SQLite (WAL)": {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}"}}
        schema = f"bench_{int(time.time())}"
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        backends["PostgreSQL"] = {"SQLALCHEMY_DATABASE_URI": args.postgres_url,
                                  "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-c search_path={schema}"}}}
        try:
            print("| backend | endpoint | requests/s | p50 ms | p99 ms |")
            print("|---|---|---|---|---|")
            for name, config in backends.items():
                results = run_backend(name.split()[0].lower(), config, workdir, args.requests)
                for endpoint, label in (("bare", "bare (1 indexed read + 1 insert)"), ("summary", "POST /summaries (audited)")):
                    figures = results[endpoint]
                    print(f"| {name} | {label} | {figures['rate']:.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} |")
                ratio = results["summary"]["rate"] / results["bare"]["rate"]
                print(f"| {name} | summary / bare | {ratio:.2f} | | |")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

    return 0


if __name__ == "__main__":
    sys.exit(main())
