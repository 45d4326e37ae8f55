"""``python -m hub import``: Japanese progress and result, exit codes, re-runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mynacard import devpki
from tests.hub.test_import_csv import QUALIFICATION_COLUMNS, qualification_row, write_csv

REPO = Path(__file__).resolve().parents[2]


def run_import(tmp_path: Path, pki: devpki.DevRoot, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HUB_TRUST_DIR": str(pki.trust_dir),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        "HUB_INSTANCE_DIR": str(tmp_path),
    }
    return subprocess.run([sys.executable, "-m", "hub", "import", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_reports_rejected_line(tmp_path, pki):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1), qualification_row(2, sex="X")])
    result = run_import(tmp_path, pki, "qualification", str(path), "--rejects", str(tmp_path / "rejects.csv"))

    assert result.returncode == 2, result.stderr
    assert "新規 1 件" in result.stdout
    assert "q.csv 3 行目: 性別" in result.stdout
    assert "2 / 2 行" in result.stderr
    assert "3,性別" in (tmp_path / "rejects.csv").read_text(encoding="utf-8")


def test_cli_rerun_unchanged(tmp_path, pki):
    path = write_csv(tmp_path / "q.csv", QUALIFICATION_COLUMNS, [qualification_row(1)])
    run_import(tmp_path, pki, "qualification", str(path))
    result = run_import(tmp_path, pki, "qualification", str(path))

    assert result.returncode == 0, result.stderr
    assert "新規 0 件" in result.stdout
    assert "変更なし 1 件" in result.stdout


def test_cli_missing_file(tmp_path, pki):
    result = run_import(tmp_path, pki, "claims", str(tmp_path / "none.csv"))

    assert result.returncode == 1
    assert "ファイルが見つかりません" in result.stderr


def test_cli_fhir_folder(tmp_path, pki, shared_data):
    result = run_import(tmp_path, pki, "fhir", str(shared_data / "fhir" / "jp-clins"))

    assert result.returncode == 2, result.stderr
    assert "MedicationRequest-ErrorExample-JP-MedReq-ExtEye-Total1.json" in result.stdout
