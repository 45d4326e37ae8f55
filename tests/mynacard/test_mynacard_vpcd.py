"""Tests of the vpcd link against a small loopback TCP server that plays the vpcd driver."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from mynacard.virtual.card import DEFAULT_ATR, VirtualCard
from mynacard.virtual.vpcd import encode_frame, handle_frame, serve

SELECT_JPKI = bytes.fromhex("00A4040C0AD392F000260100000001")
SELECT_TOKEN = bytes.fromhex("00A4020C020006")
TIMEOUT = 5.0


def receive_frame(conn: socket.socket) -> bytes:
    """Read one length-prefixed frame from the card side."""
    header = _receive_exactly(conn, 2)
    return _receive_exactly(conn, int.from_bytes(header, "big"))


def _receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("card closed the connection")
        data += chunk
    return data


@pytest.fixture
def vpcd_server() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(TIMEOUT)
    yield server
    server.close()


@pytest.fixture
def serving(card: VirtualCard, vpcd_server: socket.socket) -> Iterator[threading.Thread]:
    """Run ``serve`` in a thread against the test server; stop it and check that it ended."""
    stop = threading.Event()
    port = vpcd_server.getsockname()[1]
    thread = threading.Thread(
        target=serve,
        args=(card, "127.0.0.1", port, stop),
        kwargs={"retry_interval": 0.05, "poll_interval": 0.05},
        daemon=True,
    )
    thread.start()
    yield thread
    stop.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "serve did not stop within the timeout"


def test_encode_frame_length_prefix() -> None:
    assert encode_frame(b"\x04") == b"\x00\x01\x04"
    assert encode_frame(b"\x00" * 300)[:2] == b"\x01\x2c"
    with pytest.raises(ValueError):
        encode_frame(b"\x00" * 0x10000)


def test_handle_frame_atr_request(card: VirtualCard) -> None:
    assert handle_frame(card, b"\x04") == DEFAULT_ATR


@pytest.mark.parametrize("code", [b"\x00", b"\x01", b"\x02", b"\x07", b""])
def test_handle_frame_no_reply(card: VirtualCard, code: bytes) -> None:
    assert handle_frame(card, code) is None


def test_handle_frame_power_off_resets(card: VirtualCard) -> None:
    handle_frame(card, SELECT_JPKI)

    handle_frame(card, b"\x00")

    assert handle_frame(card, SELECT_TOKEN) == b"\x6a\x82", "no DF is selected after power off"


def test_serve_framing(serving: threading.Thread, vpcd_server: socket.socket) -> None:
    conn, _address = vpcd_server.accept()
    with conn:
        conn.settimeout(TIMEOUT)
        conn.sendall(encode_frame(b"\x04"))
        assert receive_frame(conn) == DEFAULT_ATR

        conn.sendall(encode_frame(b"\x01"))
        for byte in encode_frame(SELECT_JPKI):
            conn.sendall(bytes([byte]))
        assert receive_frame(conn) == b"\x90\x00"

        conn.sendall(encode_frame(SELECT_TOKEN) + encode_frame(bytes.fromhex("00B0000020")))
        assert receive_frame(conn) == b"\x90\x00"
        assert receive_frame(conn) == b"JPKIAPICCTOKEN2".ljust(32) + b"\x90\x00"


def test_serve_reconnects(serving: threading.Thread, vpcd_server: socket.socket) -> None:
    first, _address = vpcd_server.accept()
    first.close()

    second, _address = vpcd_server.accept()
    with second:
        second.settimeout(TIMEOUT)
        second.sendall(encode_frame(b"\x04"))
        assert receive_frame(second) == DEFAULT_ATR


def test_serve_stops_without_vpcd(card: VirtualCard, caplog: pytest.LogCaptureFixture) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free_port = probe.getsockname()[1]
    stop = threading.Event()
    caplog.set_level(logging.DEBUG, logger="mynacard.virtual.vpcd")
    thread = threading.Thread(
        target=serve, args=(card, "127.0.0.1", free_port, stop), kwargs={"retry_interval": 0.02}, daemon=True
    )

    thread.start()
    threading.Event().wait(0.3)
    stop.set()
    thread.join(TIMEOUT)

    assert not thread.is_alive()
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, "repeated connection failures are logged once at WARNING"
