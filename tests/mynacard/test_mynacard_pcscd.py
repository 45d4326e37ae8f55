"""Tests of the private pcscd runner, and the integration test through pcscd, vpcd and pyscard.

The integration test starts the real /usr/sbin/pcscd. It is skipped when pcscd or the
vpcd driver is missing, when not running as root, or when another pcscd is running
(pcscd's client socket is system-wide, so two cannot coexist).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mynacard import pcsc
from mynacard.__main__ import main
from mynacard.apdu import ApduProtocol
from mynacard.devpki import IssuedCard
from mynacard.errors import NoCardError
from mynacard.jpki import JpkiSession, TEXT_AP_AID, VISUAL_AP_AID
from mynacard.virtual import pcscd as pcscd_module
from mynacard.virtual.card import VirtualCard
from mynacard.virtual.pcscd import (
    PCSCD_BINARY,
    VPCD_DRIVER,
    PcscdAlreadyRunningError,
    PcscdError,
    PcscdProcess,
    reader_config,
)
from mynacard.virtual.vpcd import serve

CONNECT_TIMEOUT = 15.0
NUMBER_FILE_SELECTS = {("text", "0001"), ("visual", "0005")}

# A demo or another checkout's test run may hold pcscd; wait for it rather than skip.
LOCK_WAIT_SECONDS = 600.0


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_reader_config_lines() -> None:
    assert reader_config(35963).splitlines() == [
        'FRIENDLYNAME "Virtual PCD"',
        "DEVICENAME /dev/null:0x8C7B",
        "LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so",
        "CHANNELID 0x8C7B",
    ]


def test_running_pcscd_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcscd_module, "running_pcscd_pids", lambda: [424242])
    fake_binary = tmp_path / "pcscd"
    fake_binary.write_text("#!/bin/sh\nexit 0\n")
    fake_binary.chmod(0o755)

    with pytest.raises(PcscdAlreadyRunningError, match="424242") as caught:
        PcscdProcess(tmp_path / "work", free_port(), binary=fake_binary).start()

    assert caught.value.pid == 424242
    assert not (tmp_path / "work" / "pcscd.pid").exists(), "nothing was started"


def test_replace_existing_stops_our_leftover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process named by our pidfile is stopped; a stand-in binary then exits at once."""
    if not VPCD_DRIVER.exists():
        pytest.skip(f"vpcd driver not found at {VPCD_DRIVER}")
    leftover = subprocess.Popen(["sleep", "30"])
    try:
        work_dir = tmp_path / "work"
        work_dir.mkdir()
        (work_dir / "pcscd.pid").write_text(f"{leftover.pid}\n")
        monkeypatch.setattr(pcscd_module, "running_pcscd_pids", lambda: [leftover.pid])
        fake_binary = tmp_path / "pcscd"
        fake_binary.write_text("#!/bin/sh\nexit 3\n")
        fake_binary.chmod(0o755)

        with pytest.raises(PcscdError, match="status 3"):
            PcscdProcess(work_dir, free_port(), binary=fake_binary, replace_existing=True).start()

        assert leftover.wait(timeout=5) is not None
        assert not (work_dir / "pcscd.pid").exists()
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait(timeout=5)


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(PcscdError, match="not found"):
        PcscdProcess(tmp_path, free_port(), binary=tmp_path / "absent").start()


def _connect_when_card_present(deadline: float) -> pcsc.PcscConnection:
    while True:
        try:
            return pcsc.connect()
        except NoCardError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _skip_unless_pcscd_available() -> None:
    if not PCSCD_BINARY.exists():
        pytest.skip(f"pcscd not found at {PCSCD_BINARY} (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        pytest.skip(f"vpcd driver not found at {VPCD_DRIVER} (Debian package vsmartcard-vpcd)")
    if os.geteuid() != 0:
        pytest.skip("pcscd needs root to create /run/pcscd")


def test_pcscd_reads_auth_certificate(
    card_dir: Path, issued_template: IssuedCard, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _skip_unless_pcscd_available()
    card = VirtualCard.from_dir(card_dir)
    port = free_port()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=(card, "127.0.0.1", port, stop), kwargs={"retry_interval": 0.1}, daemon=True
    )
    daemon = PcscdProcess(tmp_path / "pcscd", port, lock_wait=LOCK_WAIT_SECONDS)
    daemon.start()
    daemon_pid = daemon.pid
    try:
        thread.start()
        with _connect_when_card_present(time.monotonic() + CONNECT_TIMEOUT) as connection:
            session = JpkiSession(ApduProtocol(connection))
            token = session.ensure_my_number_card()
            certificate = session.read_auth_certificate()
            reader = connection.reader
            atr = connection.atr
        exit_status = main(["info"])
    finally:
        stop.set()
        thread.join(5)
        daemon.stop()

    assert not thread.is_alive()
    assert daemon_pid is not None and daemon_pid not in pcscd_module.running_pcscd_pids(), "pcscd was stopped"
    assert reader.startswith("Virtual PCD")
    assert atr == card.atr
    assert token == "JPKIAPICCTOKEN2"
    assert certificate == issued_template.certificate_der

    output = capsys.readouterr().out
    assert exit_status == 0
    assert issued_template.serial_hex in output
    assert "残り回数: 3" in output

    selected_aids = {entry["target"] for entry in card.command_log if entry["ins"] == "A4" and entry["p1"] == "04"}
    assert TEXT_AP_AID.hex().upper() not in selected_aids
    assert VISUAL_AP_AID.hex().upper() not in selected_aids
    number_selects = [
        entry for entry in card.command_log if entry["ins"] == "A4" and (entry["ap"], entry["ef"]) in NUMBER_FILE_SELECTS
    ]
    assert number_selects == []
    assert (card_dir / "commands.log").read_text().count("\n") == len(card.command_log)
