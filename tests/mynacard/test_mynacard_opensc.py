"""OpenSC, an independent implementation of this card, reads the virtual card through pcscd.

Runs ``opensc-tool`` and ``pkcs15-tool`` (Debian package opensc) against the virtual
card attached to a private pcscd through vpcd. Findings about OpenSC 0.23's ``jpki``
driver, read from its command log against this card:

- It matches the ATR ``3B E0 00 FF 81 31 FE 45 14``; with any other ATR it falls back
  to ``SELECT 00 A4 04 0C`` of the JPKI AID, so a card with an unknown ATR is found too.
- Before that, other drivers probe with ``SELECT ... P2=00`` (answered 6A86 here),
  unknown AIDs (6A82), GET DATA (6D00). A failed SELECT must leave the card usable.
- It queries both PIN counters with an empty VERIFY after selecting EF 0018 and 001B
  (``Tries left: 3`` and ``5``) and reads the certificates 000A, 000B and 0002 in
  256-byte READ BINARY chunks. The signature certificate 0001 is listed as private.

The test is skipped when pcscd, the vpcd driver or OpenSC is missing, or without root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mynacard.virtual.card import DEFAULT_ATR, VirtualCard
from mynacard.virtual.pcscd import PCSCD_BINARY, VPCD_DRIVER, PcscdProcess
from mynacard.virtual.vpcd import serve

# A demo or another checkout's test run may hold pcscd; wait for it rather than skip.
LOCK_WAIT_SECONDS = 600.0
TOOL_TIMEOUT = 60.0
DETECT_TIMEOUT = 20.0
UNKNOWN_CONTACTLESS_ATR = bytes.fromhex("3B80800101")


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def skip_unless_available() -> None:
    for binary in (PCSCD_BINARY, VPCD_DRIVER):
        if not binary.exists():
            pytest.skip(f"{binary} not found (Debian packages pcscd, vsmartcard-vpcd)")
    if shutil.which("pkcs15-tool") is None:
        pytest.skip("pkcs15-tool not found (Debian package opensc)")
    if os.geteuid() != 0:
        pytest.skip("pcscd needs root to create /run/pcscd")


@contextmanager
def attached(card: VirtualCard, port: int) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=(card, "127.0.0.1", port, stop), kwargs={"retry_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def wait_for_jpki() -> str:
    deadline = time.monotonic() + DETECT_TIMEOUT
    while True:
        result = run_tool("opensc-tool", "-n")
        if result.stdout.strip() == "jpki" or time.monotonic() > deadline:
            return result.stdout.strip()
        time.sleep(0.3)


@pytest.fixture
def pcscd(tmp_path: Path) -> Iterator[int]:
    skip_unless_available()
    port = free_port()
    with PcscdProcess(tmp_path / "pcscd", port, lock_wait=LOCK_WAIT_SECONDS):
        yield port


@pytest.mark.parametrize("atr", [DEFAULT_ATR, UNKNOWN_CONTACTLESS_ATR], ids=["opensc-atr", "select-fallback"])
def test_opensc_reads_virtual_card(pcscd: int, card_dir: Path, atr: bytes) -> None:
    card = VirtualCard.from_dir(card_dir, atr=atr)
    auth_der = (card_dir / "auth_cert.der").read_bytes()

    with attached(card, pcscd):
        driver = wait_for_jpki()
        dump = run_tool("pkcs15-tool", "-D")
        auth = run_tool("pkcs15-tool", "--read-certificate", "01")
        auth_ca = run_tool("pkcs15-tool", "--read-certificate", "03")

    assert driver == "jpki"
    assert dump.returncode == 0, dump.stderr
    assert "PKCS#15 Card [JPKI]" in dump.stdout
    assert "Tries left     : 3" in dump.stdout
    assert "Tries left     : 5" in dump.stdout
    assert "[Digital Signature Certificate]" in dump.stdout
    assert auth.returncode == 0, auth.stderr
    assert x509.load_pem_x509_certificate(auth.stdout.encode()).public_bytes(serialization.Encoding.DER) == auth_der
    assert auth_ca.returncode == 0, auth_ca.stderr
    assert b"JPKI-TEST" in x509.load_pem_x509_certificate(auth_ca.stdout.encode()).public_bytes(serialization.Encoding.DER)


def test_opensc_leaves_number_unread(pcscd: int, card_dir: Path) -> None:
    card = VirtualCard.from_dir(card_dir)

    with attached(card, pcscd):
        assert wait_for_jpki() == "jpki"
        run_tool("pkcs15-tool", "-D")

    assert {entry["ap"] for entry in card.command_log} <= {None, "jpki"}
    assert all(entry["sw"] != "6984" for entry in card.command_log)
    assert card.tries_left("jpki", 0x0018) == 3
