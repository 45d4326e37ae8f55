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


# Additions: card face, revocation options, latency, smartphone ------------------------------


def in_process(card: VirtualCard, monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(reader: str | None = None) -> VirtualConnection:
        connection = VirtualConnection(card)
        connection.reader = reader or "in-process"  # type: ignore[attr-defined]
        return connection

    monkeypatch.setattr(pcsc, "connect", connect)


def number_b_of(card_dir: Path) -> str:
    from mynacard.credentials import verification_number_b
    from mynacard.persona import CardPersona

    persona = CardPersona.load(card_dir / "persona.json")
    assert persona.card_expiry is not None and persona.security_code is not None
    return verification_number_b(persona.birth_date, persona.card_expiry, persona.security_code)


def test_info_shows_sign_tries(card: VirtualCard, monkeypatch, capsys) -> None:
    in_process(card, monkeypatch)

    assert cli.main(["info"]) == 0
    output = capsys.readouterr().out
    assert "署名用パスワードの残り回数: 5" in output
    assert "接続方式: 接触" in output
    assert "利用者証明用CA証明書:" in output


def test_info_smartphone(card_dir: Path, monkeypatch, capsys) -> None:
    in_process(VirtualCard.from_dir(card_dir, token="JPKIAPGPSETOKEN"), monkeypatch)

    assert cli.main(["info"]) == 0
    output = capsys.readouterr().out
    assert "（スマートフォン）" in output
    assert "暗証番号の入力後に読み取れます" in output


def test_read_face_prints_and_saves(card: VirtualCard, card_dir: Path, dev_root: DevRoot, tmp_path: Path, monkeypatch, capsys) -> None:
    import io

    in_process(card, monkeypatch)
    number_b = number_b_of(card_dir)
    monkeypatch.setattr("sys.stdin", io.StringIO(number_b + "\n"))
    photo = tmp_path / "face.png"

    status = cli.main(["read-face", "--trust", str(dev_root.trust_dir), "--photo-out", str(photo)])

    output = capsys.readouterr().out
    assert status == 0
    assert "氏名: 黒桐\u3000幹也" in output
    assert "性別: 男性" in output
    assert number_b not in output
    assert photo.read_bytes().startswith(b"\x89PNG")


def test_read_face_wrong_number(card: VirtualCard, dev_root: DevRoot, monkeypatch, capsys) -> None:
    import io

    in_process(card, monkeypatch)
    monkeypatch.setattr("sys.stdin", io.StringIO("00000000000000\n"))

    assert cli.main(["read-face", "--trust", str(dev_root.trust_dir)]) == 1
    assert "あと2回" in capsys.readouterr().err


def test_verify_cert_revoked_crl(dev_root: DevRoot, issued_template: IssuedCard, tmp_path: Path, capsys) -> None:
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    now = datetime.now(timezone.utc)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(int(issued_template.serial_hex, 16))
        .revocation_date(now - timedelta(minutes=1))
        .build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(dev_root.certificate.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
        .add_revoked_certificate(entry)
        .sign(dev_root.key, hashes.SHA256())
    )
    (tmp_path / "auth.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))

    status = cli.main(
        ["verify-cert", str(issued_template.card_dir / "auth_cert.der"), "--trust", str(dev_root.trust_dir), "--crl", str(tmp_path / "auth.crl")]
    )

    assert status == 1
    assert "失効" in capsys.readouterr().err


def test_verify_cert_production_rejects(dev_root: DevRoot, issued_template: IssuedCard, capsys) -> None:
    status = cli.main(
        ["verify-cert", str(issued_template.card_dir / "auth_cert.der"), "--trust", str(dev_root.trust_dir), "--production"]
    )

    assert status == 1
    assert "テスト用" in capsys.readouterr().err


def test_vcard_latency_option(card_dir: Path, monkeypatch, capsys) -> None:
    cards = []

    def interrupted(card: VirtualCard, **options: object) -> None:
        cards.append(card)
        raise KeyboardInterrupt

    monkeypatch.setattr(vpcd, "serve", interrupted)

    assert cli.main(["vcard", "--card-dir", str(card_dir), "--latency", "contactless", "--atr", "3B80800101"]) == 0
    assert cards[0].latency is not None
    assert cards[0].atr == bytes.fromhex("3B80800101")
