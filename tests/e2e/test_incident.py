"""One incident end to end on the real parts.

pcscd with the vpcd driver, the virtual My Number Card attached to it, and the
hub, hospital portal and field unit as separate processes talking HTTP on
loopback. The demo data comes from the real public files.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import setup_demo  # noqa: E402
import stack as stack_module  # noqa: E402

pytestmark = pytest.mark.e2e

# Files that hold the individual number: text AP EF 0001, visual AP EF 0005,
# as (application, file id) in the virtual card's command log.
INDIVIDUAL_NUMBER_FILES = {("text", "0001"), ("visual", "0005")}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def var_dir() -> Path:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.fail("pcscd is not installed: run scripts/test.sh, which installs it")

    path = REPO / "test-output" / "e2e-var"
    shutil.rmtree(path, ignore_errors=True)
    setup_demo.build(path, setup_demo.shared_data_dir())
    return path


@pytest.fixture(scope="module")
def incident(var_dir: Path):
    ports = stack_module.Ports(hub=_free_port(), portal=_free_port(), field=_free_port(), vpcd=_free_port())
    with stack_module.Stack(var_dir, ports, pcscd_lock_wait=600.0) as running:
        yield running, running.run_incident()


def _hub_rows(var_dir: Path, query: str, *args: object) -> list[sqlite3.Row]:
    connection = sqlite3.connect(var_dir / "hub" / "hub.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(query, args).fetchall()
    finally:
        connection.close()


def test_hospital_receives_packet(incident) -> None:
    running, result = incident
    received = result["received"]

    assert received["hospital_code"] == running.description["demo_hospital"]["code"]
    assert received["status"] == "delivered"
    assert received["packet"]["chief_complaint"] == "胸痛"


def test_hospital_sees_medications(incident) -> None:
    _, result = incident
    sent_summary = result["summary"]
    received_summary = result["received"]["packet"]["summary"]

    assert received_summary["medications"], "the demo patient has current medications"
    assert received_summary["medications"] == sent_summary["medications"]
    assert received_summary["patient"] == sent_summary["patient"]


def test_summary_has_recent_visits(incident) -> None:
    _, result = incident
    assert result["summary"]["visits"], "the demo patient has visits within 3 months"


def test_summary_matches_card_patient(incident, var_dir: Path) -> None:
    running, result = incident
    patient = _hub_rows(var_dir, "SELECT * FROM patients WHERE patient_key = ?", running.card["patient_key"])[0]

    assert result["summary"]["patient"]["family_name"] == patient["family_name"]
    assert result["summary"]["patient"]["birth_date"] == patient["birth_date"]


def test_audit_row_for_summary(incident, var_dir: Path) -> None:
    running, result = incident
    rows = _hub_rows(var_dir, "SELECT a.*, p.patient_key FROM audit_events a JOIN patients p ON p.id = a.patient_id WHERE action = 'view_summary'")

    assert len(rows) == 1
    row = rows[0]
    assert row["patient_key"] == running.card["patient_key"]
    assert row["actor"] == "field-unit-demo"
    assert row["legal_basis"] == "consent_verbal"
    assert json.loads(row["detail"])["incident_id"] == result["incident_id"]


def test_audit_chain_verifies(incident, var_dir: Path) -> None:
    running, _ = incident
    env = {**os.environ, "HUB_INSTANCE_DIR": str(var_dir / "hub"), "HUB_TRUST_DIR": running.description["trust_dir"]}
    completed = subprocess.run([sys.executable, "-m", "hub", "verify-audit"], cwd=REPO, env=env, capture_output=True, text=True)

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_forward_is_audited(incident, var_dir: Path) -> None:
    _, result = incident
    rows = _hub_rows(var_dir, "SELECT detail FROM audit_events WHERE action = 'forward_transfer'")

    assert [json.loads(row["detail"])["packet_id"] for row in rows] == [result["packet_id"]]


def test_card_never_selects_individual_number(incident) -> None:
    running, _ = incident
    log_path = Path(running.card["card_dir"]) / "commands.log"
    entries = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    assert entries, "the virtual card logged no command"
    for entry in entries:
        assert (entry["ap"], entry["ef"]) not in INDIVIDUAL_NUMBER_FILES, entry
        if entry["ins"] == "A4" and entry["p1"] == "02":
            assert (entry["ap"], entry["target"]) not in INDIVIDUAL_NUMBER_FILES, entry
        if entry["ins"] == "B0" and int(entry["p1"], 16) & 0x80:
            short_id = f"{int(entry['p1'], 16) & 0x1F:04X}"
            assert (entry["ap"], short_id) not in INDIVIDUAL_NUMBER_FILES, entry
