"""Run a private pcscd with the vpcd reader, for integration tests and demos.

``PcscdProcess`` writes its own reader configuration folder, starts
``pcscd --foreground -c <folder>`` and stops it on exit. pcscd's client socket
(/run/pcscd/pcscd.comm) is system-wide, so only one pcscd can run on a machine at a
time. Starting one while another runs raises ``PcscdAlreadyRunningError`` with the
other's pid, unless ``replace_existing=True`` and our pidfile in ``work_dir`` names it.
pcscd needs root to create its socket folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from mynacard.virtual.vpcd import VPCD_PORT

logger = logging.getLogger(__name__)

PCSCD_BINARY = Path("/usr/sbin/pcscd")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_FRIENDLY_NAME = "Virtual PCD"
CONFIG_FOLDER = "reader.conf.d"
CONFIG_FILE = "vpcd"
LOG_FILE = "pcscd.log"
PID_FILE = "pcscd.pid"
STOP_TIMEOUT = 5.0
# Serialises PcscdProcess users across processes and checkouts: a test run
# waits here for a demo or another test run instead of killing its pcscd.
MACHINE_LOCK = Path("/tmp/myna-kyukyu-pcscd.lock")
_TCP_LISTEN_STATE = "0A"


class PcscdError(RuntimeError):
    """pcscd could not be started or stopped."""


class PcscdAlreadyRunningError(PcscdError):
    """Another pcscd process is running, so this one cannot own the system-wide socket."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        super().__init__(
            f"another pcscd is already running (pid {pid}); only one pcscd can run at a time "
            f"because its client socket is system-wide. Stop it first"
        )


def running_pcscd_pids() -> list[int]:
    """Return the pids of running processes whose command name is exactly ``pcscd``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if command == "pcscd" and _is_alive(int(entry.name)):
            pids.append(int(entry.name))
    return sorted(pids)


def _is_alive(pid: int) -> bool:
    """Return whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields_after_name = stat.rsplit(")", 1)[-1].split()
    return bool(fields_after_name) and fields_after_name[0] != "Z"


def is_port_listening(port: int) -> bool:
    """Return whether a TCP socket on this machine listens on ``port`` (read from /proc/net)."""
    suffix = f":{port:04X}"
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(suffix) and fields[3] == _TCP_LISTEN_STATE:
                return True
    return False


def reader_config(port: int) -> str:
    """Return the reader.conf.d entry that makes the vpcd driver listen on ``port``."""
    return (
        f'FRIENDLYNAME "{READER_FRIENDLY_NAME}"\n'
        f"DEVICENAME /dev/null:0x{port:04X}\n"
        f"LIBPATH {VPCD_DRIVER}\n"
        f"CHANNELID 0x{port:04X}\n"
    )


class PcscdProcess:
    """A pcscd child process with one vpcd reader listening on ``vpcd_port``.

    Logs go to ``work_dir/pcscd.log``. ``start_timeout`` is the maximum time in seconds
    to wait for the vpcd port to listen.
    """

    def __init__(
        self,
        work_dir: Path,
        vpcd_port: int = VPCD_PORT,
        *,
        replace_existing: bool = False,
        start_timeout: float = 10.0,
        lock_wait: float = 0.0,
        binary: Path = PCSCD_BINARY,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.vpcd_port = vpcd_port
        self.replace_existing = replace_existing
        self.start_timeout = start_timeout
        self.lock_wait = lock_wait
        self._lock_file: IO[bytes] | None = None
        self.binary = Path(binary)
        self.config_dir = self.work_dir / CONFIG_FOLDER
        self.log_path = self.work_dir / LOG_FILE
        self.pid_path = self.work_dir / PID_FILE
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The pid of the running pcscd, or None."""
        return self._process.pid if self._process else None

    def __enter__(self) -> PcscdProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start pcscd and wait until vpcd listens; raise PcscdError when it does not."""
        if self._process is not None:
            raise PcscdError("this PcscdProcess is already started")
        if not self.binary.exists():
            raise PcscdError(f"pcscd not found at {self.binary}; install the Debian package pcscd")
        if not VPCD_DRIVER.exists():
            raise PcscdError(f"vpcd driver not found at {VPCD_DRIVER}; install the Debian package vsmartcard-vpcd")
        self._take_machine_lock()
        try:
            self._clear_running_pcscd()
        except BaseException:
            self._release_machine_lock()
            raise
        if is_port_listening(self.vpcd_port):
            raise PcscdError(f"TCP port {self.vpcd_port} is already in use; choose another vpcd_port")

        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_dir.mkdir(exist_ok=True)
        (self.config_dir / CONFIG_FILE).write_text(reader_config(self.vpcd_port), encoding="ascii")
        self._log_file = self.log_path.open("ab")
        command = [str(self.binary), "--foreground", "-c", str(self.config_dir)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self.pid_path.write_text(f"{self._process.pid}\n", encoding="ascii")
        logger.info("started pcscd (pid %s) with vpcd on port %s", self._process.pid, self.vpcd_port)
        try:
            self._wait_until_listening(self._process)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop pcscd (SIGTERM, then SIGKILL after 5 s) and remove the pidfile. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    logger.warning("pcscd (pid %s) ignored SIGTERM; killing it", process.pid)
                    process.kill()
                    process.wait(timeout=STOP_TIMEOUT)
            logger.info("stopped pcscd (pid %s), exit status %s", process.pid, process.returncode)
            self.pid_path.unlink(missing_ok=True)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self._release_machine_lock()

    def _take_machine_lock(self) -> None:
        lock_file = MACHINE_LOCK.open("ab")
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock_file.close()
                    raise PcscdError(
                        f"another run of this project holds pcscd (lock {MACHINE_LOCK}); "
                        "stop the other demo or test run first"
                    ) from None
                time.sleep(0.2)
        self._lock_file = lock_file

    def _release_machine_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of pcscd's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _clear_running_pcscd(self) -> None:
        our_pid = self._read_pidfile()
        for pid in running_pcscd_pids():
            if self.replace_existing and pid == our_pid:
                logger.warning("stopping pcscd (pid %s) left by a previous run in %s", pid, self.work_dir)
                _terminate_foreign(pid)
                self.pid_path.unlink(missing_ok=True)
                continue
            raise PcscdAlreadyRunningError(pid)

    def _read_pidfile(self) -> int | None:
        try:
            return int(self.pid_path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def _wait_until_listening(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PcscdError(
                    f"pcscd exited with status {process.returncode} during start; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if is_port_listening(self.vpcd_port):
                return
            time.sleep(0.05)
        raise PcscdError(
            f"vpcd did not listen on port {self.vpcd_port} within {self.start_timeout} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )


def _terminate_foreign(pid: int) -> None:
    """Stop a process that is not our child: SIGTERM, then SIGKILL after 5 s."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _is_alive(pid):
            return
        time.sleep(0.05)
    logger.warning("pcscd (pid %s) ignored SIGTERM; killing it", pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
