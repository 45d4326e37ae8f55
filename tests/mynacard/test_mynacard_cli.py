"""Tests of the ``python -m mynacard`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mynacard import __main__ as cli
from mynacard import pcsc
from mynacard.devpki import DevRoot, IssuedCard, build_root
from mynacard.errors import ReaderUnavailableError
from mynacard.transport import VirtualConnection
from mynacard.virtual import vpcd
from mynacard.virtual.card import VirtualCard

REPOSITORY = Path(cli.__file__).parents[1]


def test_verify_cert_success(
    dev_root: DevRoot, issued_template: IssuedCard, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(
        ["verify-cert", str(issued_template.card_dir / "auth_cert.der"), "--trust", str(dev_root.trust_dir)]
    )

    output = capsys.readouterr().out
    assert status == 0
    assert "検証に成功しました" in output
    assert issued_template.serial_hex in output


def test_verify_cert_wrong_root(issued_template: IssuedCard, tmp_path: Path, capsys) -> None:
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "other.pem").write_bytes(build_root().certificate.public_bytes(serialization.Encoding.PEM))

    status = cli.main(["verify-cert", str(issued_template.card_dir / "auth_cert.der"), "--trust", str(tmp_path)])

    assert status == 1
    assert "発行元を確認できません" in capsys.readouterr().err


def test_verify_cert_at_naive_is_jst(dev_root: DevRoot, issued_template: IssuedCard, capsys) -> None:
    status = cli.main(
        [
            "verify-cert",
            str(issued_template.card_dir / "auth_cert.der"),
            "--trust",
            str(dev_root.trust_dir),
            "--at",
            "2000-01-01T00:00:00",
        ]
    )

    assert status == 1
    assert "有効期間がまだ始まっていません" in capsys.readouterr().err


def test_readers_lists_names(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(pcsc, "list_readers", lambda: ["Virtual PCD 00 00"])

    assert cli.main(["readers"]) == 0
    assert capsys.readouterr().out == "Virtual PCD 00 00\n"


def test_readers_none(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(pcsc, "list_readers", lambda: [])

    assert cli.main(["readers"]) == 1
    assert "見つかりません" in capsys.readouterr().out


def test_readers_pcscd_down(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def unavailable() -> list[str]:
        raise ReaderUnavailableError("SCardEstablishContext failed")

    monkeypatch.setattr(pcsc, "list_readers", unavailable)

    assert cli.main(["readers"]) == 1
    assert "利用できません" in capsys.readouterr().err


def test_info_in_process(card: VirtualCard, issued_template: IssuedCard, monkeypatch, capsys) -> None:
    def connect(reader: str | None = None) -> VirtualConnection:
        connection = VirtualConnection(card)
        connection.reader = reader or "in-process"  # type: ignore[attr-defined]
        return connection

    monkeypatch.setattr(pcsc, "connect", connect)

    status = cli.main(["info"])

    output = capsys.readouterr().out
    assert status == 0
    assert "トークン: JPKIAPICCTOKEN2" in output
    assert issued_template.serial_hex in output
    assert "残り回数: 3" in output
    assert {entry["ap"] for entry in card.command_log} == {"jpki"}


def test_vcard_stops_on_interrupt(card_dir: Path, monkeypatch, capsys) -> None:
    calls = []

    def interrupted(card: VirtualCard, **options: object) -> None:
        calls.append(options)
        raise KeyboardInterrupt

    monkeypatch.setattr(vpcd, "serve", interrupted)

    assert cli.main(["vcard", "--card-dir", str(card_dir), "--port", "35999"]) == 0
    assert calls[0]["port"] == 35999
    assert "終了しました" in capsys.readouterr().out


def test_module_help_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mynacard", "--help"], capture_output=True, text=True, cwd=REPOSITORY, timeout=60
    )

    assert result.returncode == 0
    assert "verify-cert" in result.stdout
