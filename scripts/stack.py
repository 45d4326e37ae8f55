"""Start the whole system on loopback and run one scripted incident.

Starts pcscd with the vpcd driver, attaches a virtual My Number Card, then the
hub, the hospital portal and the field unit as separate processes, each
talking real HTTP. ``python scripts/stack.py demo`` runs the scripted incident,
prints the three addresses and keeps running until Ctrl-C; the end-to-end
tests use :class:`Stack` the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mynacard import pcsc  # noqa: E402
from setup_demo import portal_environment  # noqa: E402
from mynacard.errors import CardError  # noqa: E402
from mynacard.virtual.pcscd import PcscdError, PcscdProcess  # noqa: E402

STARTUP_TIMEOUT_SECONDS = 60.0
CARD_READY_SECONDS = 20.0


@dataclass(frozen=True)
class Ports:
    hub: int = 8710
    portal: int = 8720
    field: int = 8730
    vpcd: int = 35963


class StackError(RuntimeError):
    """A part of the stack did not start or the scripted incident failed."""


class Stack:
    """The running system: pcscd, a virtual card and the three apps."""

    def __init__(self, var_dir: Path, ports: Ports = Ports(), card_index: int = 0, pcscd_lock_wait: float = 0.0) -> None:
        self.var_dir = var_dir
        self.pcscd_lock_wait = pcscd_lock_wait
        self.ports = ports
        self.description = json.loads((var_dir / "stack.json").read_text(encoding="utf-8"))
        self.card = self.description["cards"][card_index]
        self.log_dir = var_dir / "logs"
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._pcscd: PcscdProcess | None = None

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.hub}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.portal}"

    @property
    def field_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.field}"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_card_side()
            self._start_apps()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name, process in reversed(self._processes):
            _terminate(name, process)
        self._processes.clear()

        if self._pcscd is not None:
            self._pcscd.__exit__(None, None, None)
            self._pcscd = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start_card_side(self) -> None:
        say("pcscd を vpcd ドライバー付きで起動しています")
        self._pcscd = PcscdProcess(
            self.var_dir / "pcscd", vpcd_port=self.ports.vpcd, replace_existing=True, lock_wait=self.pcscd_lock_wait
        )
        self._pcscd.__enter__()

        say(f"仮想マイナンバーカード({self.card['label']})をリーダーに挿入しています")
        self._insert_card()
        try:
            _wait_for(self._card_ready, "仮想カード", timeout=CARD_READY_SECONDS)
        except StackError:
            # Seen on a loaded machine: pcscd dropped the card's first vpcd
            # connection. Taking the card out and putting it back recovers.
            say("仮想カードが認識されないため、挿し直します")
            _terminate("card", self._processes.pop()[1])
            self._insert_card()
            _wait_for(self._card_ready, "仮想カード")

    def _insert_card(self) -> None:
        command = [sys.executable, "-m", "mynacard", "vcard", "--card-dir", self.card["card_dir"], "--port", str(self.ports.vpcd)]
        self._spawn("card", command, {})

    def _start_apps(self) -> None:
        for port in (self.ports.hub, self.ports.portal, self.ports.field):
            if not _port_free(port):
                raise StackError(f"ポート {port} は使用中です。前回のデモが残っていれば停止してから再実行してください")

        tokens = self.description["tokens"]
        hub_env = {
            "HUB_INSTANCE_DIR": str(self.var_dir / "hub"),
            "HUB_TRUST_DIR": self.description["trust_dir"],
            "HUB_SECRET_KEY": tokens["hub_secret_key"],
        }
        portal_env = {"PORTAL_HUB_URL": self.hub_url, **portal_environment(self.var_dir, self.description)}
        field_env = {
            "FIELD_HUB_URL": self.hub_url,
            "FIELD_DEVICE_TOKEN": tokens["field_unit"],
            "FIELD_UNIT_NAME": self.description["unit_name"],
            "FIELD_INSTANCE_DIR": str(self.var_dir / "field_unit"),
            "FIELD_TRUST_DIR": self.description["trust_dir"],
        }

        say("ハブ、病院ポータル、救急隊端末を起動しています")
        self._spawn("hub", [sys.executable, "-m", "hub", "serve", "--port", str(self.ports.hub)], hub_env)
        self._spawn("portal", [sys.executable, "-m", "hospital_portal", "serve", "--port", str(self.ports.portal)], portal_env)
        self._spawn("field_unit", [sys.executable, "-m", "field_unit", "serve", "--port", str(self.ports.field)], field_env)

        _wait_for(lambda: _http_ok(f"{self.hub_url}/api/v1/health"), "ハブ")
        _wait_for(lambda: _http_ok(f"{self.portal_url}/api/inbox"), "病院ポータル")
        _wait_for(lambda: _http_ok(f"{self.field_url}/"), "救急隊端末")

    def _spawn(self, name: str, command: list[str], extra_env: dict[str, str]) -> None:
        env = {**os.environ, **extra_env, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._processes.append((name, process))

    def _card_ready(self) -> bool:
        try:
            with pcsc.connect(None):
                return True
        except CardError:
            return False

    def run_incident(self) -> dict[str, Any]:
        """The scripted incident, through the field unit's HTTP API; returns what the hospital got."""
        scene = self.description["scene"]
        hospital_code = self.description["demo_hospital"]["code"]

        say("事案を開始します(主訴: 胸痛、札幌駅付近)")
        incident = _post(f"{self.field_url}/api/incidents", {"chief_complaint": "胸痛", "latitude": scene[0], "longitude": scene[1]})
        incident_id = incident["incident_id"]

        say("カードを読み取り、口頭同意で救急用サマリーを取得します")
        summary = _post(f"{self.field_url}/api/incidents/{incident_id}/card", {"consent_mode": "verbal"})
        say(f"  傷病者: {summary['patient']['family_name']} {summary['patient']['given_name']} / 薬剤 {len(summary['medications'])} 件 / 受診歴 {len(summary['visits'])} 件")

        candidates = requests.get(f"{self.field_url}/api/incidents/{incident_id}/hospitals", timeout=10).json()["candidates"]
        if hospital_code not in {c["code"] for c in candidates}:
            raise StackError(f"demo hospital {hospital_code} is not among the candidates")

        say(f"搬送連絡を {self.description['demo_hospital']['name']} に送信します")
        sent = _post(f"{self.field_url}/api/incidents/{incident_id}/transfer", {"hospital_codes": [hospital_code], "eta_minutes": 12})
        if sent["status"] != "sent":
            raise StackError(f"transfer packet {sent['packet_id']} was not sent: {sent['status']}")

        received = _wait_for(lambda: self._find_in_inbox(sent["packet_id"]), "病院ポータルの受信箱")
        say(f"  病院ポータルが受信しました: 薬剤 {len(received['packet']['summary']['medications'])} 件")
        return {"incident_id": incident_id, "summary": summary, "packet_id": sent["packet_id"], "received": received}

    def _find_in_inbox(self, packet_id: str) -> dict[str, Any] | None:
        response = requests.get(f"{self.portal_url}/api/inbox", timeout=10)
        if response.status_code != 200:
            return None

        for transfer in response.json()["transfers"]:
            if transfer["packet"]["packet_id"] == packet_id:
                return transfer

        return None


def say(message: str) -> None:
    # A closed pipe (demo piped into a pager that quit) must not stop the cleanup.
    try:
        print(f"==> {message}", flush=True)
    except (BrokenPipeError, OSError):
        pass


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url, json=body, timeout=30)
    if response.status_code >= 400:
        raise StackError(f"POST {url} failed with HTTP {response.status_code}: {response.text[:300]}")

    return response.json()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False

    return True


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait_for(check: Any, what: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)

    raise StackError(f"{what} did not become ready within {timeout:.0f} s (see var/logs)")


def _terminate(name: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _print_fire_admin(stack: Stack) -> None:
    password = stack.description["tokens"]["fire_admin_password"][:16]
    print(f"消防本部の統計画面: {stack.hub_url}/admin/statistics/")
    print(f"  ログイン fd-admin  パスワード {password}")


def _print_portal_accounts(description: dict[str, Any]) -> None:
    print("病院ポータルのデモ用アカウント:")
    for account in description.get("portal_accounts", []):
        print(f"  {account['login_id']:<7} パスワード {account['password']}  ({account['name']})")
    print("  doctor は二段階認証が必要です。確認コードは次のコマンドで表示できます:")
    print("    .venv/bin/python scripts/demo_totp.py")


def run_demo(var_dir: Path) -> int:
    stack = Stack(var_dir)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # A shell starts background jobs with SIGINT ignored; Ctrl-C and kill -INT must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        stack.start()
        stack.run_incident()
        print()
        print("デモが動いています。続きはブラウザで操作できます:")
        print(f"  救急隊端末    {stack.field_url}/  (勤務開始: 隊長名は任意、画面ロック解除コードは4〜8桁で自由に決めます)")
        print(f"  病院ポータル  {stack.portal_url}/")
        print(f"  ハブ (API)    {stack.hub_url}/api/v1/health")
        _print_portal_accounts(stack.description)
        _print_fire_admin(stack)
        print(f"ログ: {stack.log_dir}")
        print("Ctrl-C で全て停止します。")
        while not stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # Output went to a pipe that closed; stop quietly and keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except PcscdError as exc:
        print("エラー: pcscd を起動できませんでした。別のデモやテストが動いていれば停止してから再実行してください。", file=sys.stderr)
        print(f"  詳細: {exc}", file=sys.stderr)
        return 1
    except StackError as exc:
        print(f"エラー: デモを開始できませんでした: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        say("停止しました")

    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="マイナ救急のデモ環境を起動します")
    parser.add_argument("command", choices=["demo"], help="demo: 起動して事案を一つ実行します")
    parser.add_argument("--var", type=Path, default=REPO / "var", help="インスタンスフォルダ (既定: var/)")
    args = parser.parse_args()
    return run_demo(args.var.resolve())


if __name__ == "__main__":
    sys.exit(main())
