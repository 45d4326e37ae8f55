"""Attach a virtual card to pcscd through the vpcd driver (Debian package ``vsmartcard-vpcd``).

The vpcd driver listens on a TCP port and the card connects to it as a client. Each
message in either direction is a 2-byte big-endian length followed by the payload. A
1-byte payload from vpcd is a control code, and the card replies only to the ATR request.
A longer payload is a command APDU, and the card replies with the response APDU.
"""

from __future__ import annotations

import logging
import socket
import threading

from mynacard.virtual.card import VirtualCard

logger = logging.getLogger(__name__)

VPCD_PORT = 35963
CONTROL_POWER_OFF = 0
CONTROL_POWER_ON = 1
CONTROL_RESET = 2
CONTROL_ATR_REQUEST = 4
MAX_FRAME = 0xFFFF
CONNECT_TIMEOUT = 2.0


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its 2-byte big-endian length."""
    if len(payload) > MAX_FRAME:
        raise ValueError(f"vpcd payload of {len(payload)} bytes exceeds {MAX_FRAME}")
    return len(payload).to_bytes(2, "big") + payload


def read_frame(sock: socket.socket, stop: threading.Event) -> bytes | None:
    """Read one frame and return its payload; None when the peer closed the socket or ``stop`` is set.

    The socket must have a timeout, which sets how often ``stop`` is checked.
    """
    header = _receive_exactly(sock, 2, stop)
    if header is None:
        return None
    payload = _receive_exactly(sock, int.from_bytes(header, "big"), stop)
    return payload


def _receive_exactly(sock: socket.socket, size: int, stop: threading.Event) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        if stop.is_set():
            return None
        try:
            chunk = sock.recv(size - len(buffer))
        except socket.timeout:
            continue
        _quick_ack(sock)
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer)


def _quick_ack(sock: socket.socket) -> None:
    """Acknowledge received data at once (Linux TCP_QUICKACK; the kernel clears it again, hence every recv).

    Without it, each APDU through pcscd and vpcd took about 50 ms on the test machine,
    which fits vpcd's next small write waiting for our delayed ACK. With it, the nine
    APDUs of an auth-certificate read take a few milliseconds in all.
    """
    quick_ack = getattr(socket, "TCP_QUICKACK", None)
    if quick_ack is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, quick_ack, 1)
    except OSError:
        return


def handle_frame(card: VirtualCard, payload: bytes) -> bytes | None:
    """Apply one vpcd payload to the card and return the reply payload, or None when no reply is due."""
    if len(payload) > 1:
        return card.transmit(payload)
    if not payload:
        logger.debug("ignoring an empty vpcd frame")
        return None
    code = payload[0]
    if code == CONTROL_ATR_REQUEST:
        return card.atr
    if code in (CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET):
        logger.debug("vpcd control code %s: resetting the card", code)
        card.reset()
        return None
    logger.warning("ignoring unknown vpcd control code %s", code)
    return None


def serve(
    card: VirtualCard,
    host: str = "127.0.0.1",
    port: int = VPCD_PORT,
    stop: threading.Event | None = None,
    *,
    retry_interval: float = 1.0,
    poll_interval: float = 0.2,
) -> None:
    """Connect the card to vpcd and process its frames until ``stop`` is set, reconnecting when the link drops.

    Without ``stop`` this runs until the process is interrupted. ``retry_interval`` is
    the wait in seconds between connection attempts, and ``poll_interval`` how often
    in seconds an idle connection checks ``stop``.
    """
    stop = stop or threading.Event()
    logger.info("virtual card serving vpcd at %s:%s", host, port)
    failures = 0
    while not stop.is_set():
        try:
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            failures += 1
            _log_connect_failure(host, port, exc, failures, retry_interval)
            stop.wait(retry_interval)
            continue
        logger.info("connected to vpcd at %s:%s (failed attempts before: %s)", host, port, failures)
        failures = 0
        _serve_connection(card, sock, stop, poll_interval)
        if not stop.is_set():
            stop.wait(retry_interval)
    logger.info("virtual card stopped serving vpcd at %s:%s", host, port)


def _log_connect_failure(host: str, port: int, exc: OSError, failures: int, retry_interval: float) -> None:
    # The first failure and every 60th are warnings, so a long outage does not flood the log.
    if failures == 1 or failures % 60 == 0:
        logger.warning(
            "cannot connect to vpcd at %s:%s (%s), attempt %s; retrying every %s s",
            host,
            port,
            exc,
            failures,
            retry_interval,
        )
    else:
        logger.debug("cannot connect to vpcd at %s:%s (%s), attempt %s", host, port, exc, failures)


def _serve_connection(card: VirtualCard, sock: socket.socket, stop: threading.Event, poll_interval: float) -> None:
    with sock:
        sock.settimeout(poll_interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                payload = read_frame(sock, stop)
                if payload is None:
                    break
                reply = handle_frame(card, payload)
                if reply is not None:
                    sock.sendall(encode_frame(reply))
        except OSError as exc:
            logger.warning("vpcd connection lost: %s; reconnecting", exc)
            return
    if not stop.is_set():
        logger.info("vpcd closed the connection; reconnecting")
