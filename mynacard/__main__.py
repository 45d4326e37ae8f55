"""Command-line tool for operators: list readers, read a card, run a virtual card, check a certificate.

Output is Japanese for the operator. The individual number is never read or shown,
and 照合番号B is read from the terminal (or standard input) and never printed.

    python -m mynacard readers
    python -m mynacard info [--reader R] [--wait SECONDS]
    python -m mynacard read-face --trust DIR [--reader R] [--photo-out FILE.png]
    python -m mynacard vcard --card-dir DIR [--port 35963] [--latency contact]
    python -m mynacard verify-cert FILE --trust DIR [--at ...] [--crl FILE | --ocsp-url URL] [--production]
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mynacard.certs import (
    CertificateInfo,
    TrustStore,
    ValidationOptions,
    certificate_info,
    load_certificate,
    verify_auth_certificate,
)
from mynacard.errors import CardError
from mynacard.transport import Connection

logger = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9), "JST")
EXIT_OK = 0
EXIT_FAILURE = 1


def _format_time(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _print_certificate(info: CertificateInfo) -> None:
    print(f"  主体者: {info.subject}")
    print(f"  シリアル番号: {info.serial_hex}")
    print(f"  発行者: {info.issuer}")
    print(f"  有効期間: {_format_time(info.not_before)} 〜 {_format_time(info.not_after)}")
    print(f"  SHA-256 フィンガープリント: {info.sha256_fingerprint}")


def command_readers(args: argparse.Namespace) -> int:
    """Print the PC/SC readers."""
    from mynacard.pcsc import list_readers

    readers = list_readers()
    if not readers:
        print("カードリーダーが見つかりません。リーダーの接続を確認してください。")
        return EXIT_FAILURE
    for name in readers:
        print(name)
    return EXIT_OK


def command_info(args: argparse.Namespace) -> int:
    """Print the token, both certificates' summaries that need no PIN, and the remaining PIN tries."""
    from mynacard.apdu import ApduProtocol
    from mynacard.jpki import JpkiSession

    reader = _wait_for_card(args)
    with pcsc_connect(reader) as connection:
        session = JpkiSession(ApduProtocol(connection))
        token = session.ensure_jpki_token(allow_smartphone=True)
        smartphone = session.is_smartphone
        info = None if smartphone else certificate_info(load_certificate(session.read_auth_certificate()))
        ca_info = certificate_info(load_certificate(session.read_auth_ca_certificate()))
        tries_left = session.auth_pin_tries_left()
        sign_tries_left = None if smartphone else session.sign_password_tries_left()
        contactless = connection.is_contactless
    print(f"リーダー: {getattr(connection, 'reader', reader)}")
    print(f"接続方式: {'非接触' if contactless else '接触'}")
    print(f"トークン: {token}{'（スマートフォン）' if smartphone else ''}")
    if info is None:
        print("利用者証明用電子証明書: スマートフォンでは暗証番号の入力後に読み取れます")
    else:
        print("利用者証明用電子証明書:")
        _print_certificate(info)
    print("利用者証明用CA証明書:")
    _print_certificate(ca_info)
    print(f"利用者証明用暗証番号の残り回数: {tries_left}")
    if sign_tries_left is not None:
        print(f"署名用パスワードの残り回数: {sign_tries_left}")
    return EXIT_OK


def pcsc_connect(reader: str | None) -> Connection:
    """Connect through ``mynacard.pcsc``, looked up at call time so that tests can replace ``pcsc.connect``."""
    from mynacard import pcsc

    return pcsc.connect(reader)


def _wait_for_card(args: argparse.Namespace) -> str | None:
    if not getattr(args, "wait", None):
        return args.reader
    from mynacard import pcsc

    print(f"カードを置いてください（最大{args.wait:g}秒待ちます）。")
    return pcsc.wait_for_card(args.reader, timeout=args.wait)


def _read_number_b() -> str:
    """Read 照合番号B without echo from a terminal, or as one line from standard input."""
    if sys.stdin.isatty():
        return getpass.getpass("照合番号B（生年月日6桁・有効期限の西暦4桁・セキュリティコード4桁）: ").strip()
    return sys.stdin.readline().strip()


def command_read_face(args: argparse.Namespace) -> int:
    """Read and verify the 基本4情報 and the card face with 照合番号B; optionally save the photo as PNG."""
    from mynacard.apdu import ApduProtocol
    from mynacard.faceaps import read_card_face
    from mynacard.facedata import CardCaKeys
    from mynacard.faceimages import jp2_to_png

    ca_keys = CardCaKeys.from_folder(Path(args.trust))
    number_b = _read_number_b()
    reader = _wait_for_card(args)
    with pcsc_connect(reader) as connection:
        result = read_card_face(ApduProtocol(connection), number_b, ca_keys, confirm_last_try=args.confirm_last_try)
    basic = result.basic_four
    print("券面事項の署名とICチップの真正性を確認しました。")
    print(f"  氏名: {basic.name}")
    print(f"  住所: {basic.address}")
    print(f"  生年月日: {basic.birth_date:%Y-%m-%d}")
    print(f"  性別: {SEX_LABELS.get(basic.sex, basic.sex)}")
    print(f"  カードの有効期限: {result.face.expiry:%Y-%m-%d}")
    print(f"  署名者の鍵ID: {result.issuer}")
    if args.photo_out:
        Path(args.photo_out).write_bytes(jp2_to_png(result.face.photo_jp2))
        print(f"  顔写真を保存しました: {args.photo_out}")
    return EXIT_OK


SEX_LABELS = {"1": "男性", "2": "女性", "3": "不明", "9": "適用不能", "0": "不明"}


def command_vcard(args: argparse.Namespace) -> int:
    """Run a virtual card attached to vpcd until Ctrl-C."""
    from mynacard.virtual import vpcd
    from mynacard.virtual.card import DEFAULT_ATR, VirtualCard
    from mynacard.virtual.latency import PRESETS

    latency = PRESETS.get(args.latency) if args.latency != "off" else None
    atr = bytes.fromhex(args.atr) if args.atr else DEFAULT_ATR
    card = VirtualCard.from_dir(Path(args.card_dir), token=args.token, atr=atr, latency=latency)
    stop = threading.Event()
    print(f"仮想カードを起動しました（vpcd {args.host}:{args.port}、遅延モデル {args.latency}）。Ctrl-C で終了します。")
    try:
        vpcd.serve(card, host=args.host, port=args.port, stop=stop)
    except KeyboardInterrupt:
        stop.set()
    print("仮想カードを終了しました。")
    return EXIT_OK


def _parse_moment(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without an offset is taken as JST."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def command_verify_cert(args: argparse.Namespace) -> int:
    """Verify an auth certificate file against a trust-store folder."""
    from mynacard.revocation import revocation_from_config

    trust = TrustStore.from_folder(Path(args.trust))
    at = _parse_moment(args.at) if args.at else None
    options = ValidationOptions(
        production=args.production, revocation=revocation_from_config(args.crl, args.ocsp_url)
    )
    info = verify_auth_certificate(Path(args.file).read_bytes(), trust, at=at, options=options)
    print("電子証明書の検証に成功しました。")
    _print_certificate(info)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with its five subcommands."""
    parser = argparse.ArgumentParser(prog="python -m mynacard", description="マイナンバーカード読み取りツール")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="詳細ログを表示する（-vv でデバッグログ）")
    commands = parser.add_subparsers(dest="command", required=True)

    readers = commands.add_parser("readers", help="カードリーダーの一覧を表示する")
    readers.set_defaults(handler=command_readers)

    info = commands.add_parser("info", help="カードのトークン、利用者証明用電子証明書、暗証番号の残り回数を表示する")
    info.add_argument("--reader", help="使うリーダー名（省略時はカードのある最初のリーダー）")
    info.add_argument("--wait", type=float, metavar="SECONDS", help="カードが置かれるまで待つ最大秒数")
    info.set_defaults(handler=command_info)

    face = commands.add_parser(
        "read-face", help="照合番号Bで基本4情報と券面を読み取り、署名とICチップの真正性を確認する"
    )
    face.add_argument("--trust", required=True, help="券面署名のCA公開鍵（card_ca_keys.json）があるフォルダー")
    face.add_argument("--reader", help="使うリーダー名（省略時はカードのある最初のリーダー）")
    face.add_argument("--wait", type=float, metavar="SECONDS", help="カードが置かれるまで待つ最大秒数")
    face.add_argument("--photo-out", metavar="FILE", help="顔写真を PNG で保存するファイル")
    face.add_argument(
        "--confirm-last-try", action="store_true", help="照合番号Bの残り回数が1回でも送信する（本人確認済みのとき）"
    )
    face.set_defaults(handler=command_read_face)

    vcard = commands.add_parser("vcard", help="仮想カードを vpcd に接続して動かす（Ctrl-C で終了）")
    vcard.add_argument("--card-dir", required=True, help="devpki で発行した仮想カードのフォルダー")
    vcard.add_argument("--host", default="127.0.0.1", help="vpcd のホスト（既定: 127.0.0.1）")
    vcard.add_argument("--port", type=int, default=35963, help="vpcd の TCP ポート（既定: 35963）")
    vcard.add_argument(
        "--latency",
        choices=["off", "contact", "contactless"],
        default="off",
        help="APDU ごとの遅延モデル（既定: off。contact は接触、contactless は非接触の推定値）",
    )
    vcard.add_argument("--token", default="JPKIAPICCTOKEN2", help="トークン（JPKIAPGPSETOKEN でスマートフォンを模擬）")
    vcard.add_argument("--atr", help="ATR（16進数。省略時は 3BE000FF8131FE4514）")
    vcard.set_defaults(handler=command_vcard)

    verify = commands.add_parser("verify-cert", help="利用者証明用電子証明書を信頼するルート証明書で検証する")
    verify.add_argument("file", help="証明書ファイル（DER または PEM）")
    verify.add_argument("--trust", required=True, help="ルート証明書（*.pem, *.der, *.cer）のフォルダー")
    verify.add_argument("--at", help="検証する日時（ISO 8601。オフセット省略時は日本時間、引数省略時は現在）")
    verify.add_argument("--crl", help="失効確認に使う CRL ファイル（DER または PEM）")
    verify.add_argument("--ocsp-url", help="失効確認に使う OCSP レスポンダーの URL（--crl より優先）")
    verify.add_argument("--production", action="store_true", help="本番モード: テスト用ルートと開発用ポリシーを拒否する")
    verify.set_defaults(handler=command_verify_cert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit status; card errors are printed as their Japanese message."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except CardError as exc:
        logger.info("command %s failed: %s", args.command, exc)
        print(f"エラー: {exc.user_message}", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, ValueError) as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
