"""Command-line tool for operators: list readers, read a card, run a virtual card, check a certificate.

Output is Japanese for the operator. The individual number is never read or shown.

    python -m mynacard readers
    python -m mynacard info [--reader R]
    python -m mynacard vcard --card-dir DIR [--port 35963]
    python -m mynacard verify-cert FILE --trust DIR [--at 2030-01-01T00:00:00+09:00]
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mynacard.certs import CertificateInfo, TrustStore, certificate_info, load_certificate, verify_auth_certificate
from mynacard.errors import CardError

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
    """Print the token, the auth certificate summary and the auth PIN's remaining tries."""
    from mynacard.apdu import ApduProtocol
    from mynacard.jpki import JpkiSession
    from mynacard.pcsc import connect

    with connect(args.reader) as connection:
        session = JpkiSession(ApduProtocol(connection))
        token = session.ensure_my_number_card()
        info = certificate_info(load_certificate(session.read_auth_certificate()))
        tries_left = session.auth_pin_tries_left()
    print(f"リーダー: {connection.reader}")
    print(f"トークン: {token}")
    print("利用者証明用電子証明書:")
    _print_certificate(info)
    print(f"利用者証明用暗証番号の残り回数: {tries_left}")
    return EXIT_OK


def command_vcard(args: argparse.Namespace) -> int:
    """Run a virtual card attached to vpcd until Ctrl-C."""
    from mynacard.virtual.card import VirtualCard
    from mynacard.virtual.vpcd import serve

    card = VirtualCard.from_dir(Path(args.card_dir))
    stop = threading.Event()
    print(f"仮想カードを起動しました（vpcd {args.host}:{args.port}）。Ctrl-C で終了します。")
    try:
        serve(card, host=args.host, port=args.port, stop=stop)
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
    trust = TrustStore.from_folder(Path(args.trust))
    at = _parse_moment(args.at) if args.at else None
    info = verify_auth_certificate(Path(args.file).read_bytes(), trust, at=at)
    print("電子証明書の検証に成功しました。")
    _print_certificate(info)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with its four subcommands."""
    parser = argparse.ArgumentParser(prog="python -m mynacard", description="マイナンバーカード読み取りツール")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="詳細ログを表示する（-vv でデバッグログ）")
    commands = parser.add_subparsers(dest="command", required=True)

    readers = commands.add_parser("readers", help="カードリーダーの一覧を表示する")
    readers.set_defaults(handler=command_readers)

    info = commands.add_parser("info", help="カードのトークン、利用者証明用電子証明書、暗証番号の残り回数を表示する")
    info.add_argument("--reader", help="使うリーダー名（省略時はカードのある最初のリーダー）")
    info.set_defaults(handler=command_info)

    vcard = commands.add_parser("vcard", help="仮想カードを vpcd に接続して動かす（Ctrl-C で終了）")
    vcard.add_argument("--card-dir", required=True, help="devpki で発行した仮想カードのフォルダー")
    vcard.add_argument("--host", default="127.0.0.1", help="vpcd のホスト（既定: 127.0.0.1）")
    vcard.add_argument("--port", type=int, default=35963, help="vpcd の TCP ポート（既定: 35963）")
    vcard.set_defaults(handler=command_vcard)

    verify = commands.add_parser("verify-cert", help="利用者証明用電子証明書を信頼するルート証明書で検証する")
    verify.add_argument("file", help="証明書ファイル（DER または PEM）")
    verify.add_argument("--trust", required=True, help="ルート証明書（*.pem, *.der, *.cer）のフォルダー")
    verify.add_argument("--at", help="検証する日時（ISO 8601。オフセット省略時は日本時間、引数省略時は現在）")
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
