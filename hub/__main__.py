"""Command line of the hub: ``serve``, ``migrate``, ``verify-audit``, ``import``, ``admin`` and ``stats``."""

from __future__ import annotations

import argparse
import logging
import sys

from hub import admin_cli, audit
from hub.app import create_app
from hub.importers import cli as import_cli
from hub.statistics import cli as statistics_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub", description="マイナ救急 ハブ")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="HTTP サーバーを起動します")
    serve.add_argument("--host", default="127.0.0.1", help="待ち受けアドレス (既定: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8710, help="待ち受けポート (既定: 8710)")

    commands.add_parser("verify-audit", help="監査ログのハッシュチェーンを検証します")
    commands.add_parser("migrate", help="データベースのスキーマを最新に更新します (Alembic)")
    import_cli.add_parser(commands)
    admin_cli.add_parser(commands)
    statistics_cli.configure_parser(commands.add_parser("stats", help="救急活動の統計を集計・出力します"))

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "serve":
        return _serve(args.host, args.port)

    if args.command == "migrate":
        return _migrate()

    if args.command == "import":
        return _import(args)

    if args.command == "admin":
        return _admin(args)

    if args.command == "stats":
        return statistics_cli.run(args)

    return _verify_audit()


def _import(args: argparse.Namespace) -> int:
    app = create_app()
    with app.app_context():
        return import_cli.run(args)


def _admin(args: argparse.Namespace) -> int:
    app = create_app()
    with app.app_context():
        return admin_cli.run(args)


def _migrate() -> int:
    from hub.database import upgrade_schema
    from hub.models import db

    app = create_app({"AUTO_MIGRATE": False})
    with app.app_context():
        upgrade_schema(db.engine)

    print("データベースのスキーマを最新に更新しました。")
    return 0


def _serve(host: str, port: int) -> int:
    import waitress

    app = create_app()
    logging.getLogger(__name__).info("hub listening on http://%s:%d", host, port)
    waitress.serve(app, host=host, port=port, threads=8, ident="hub")
    return 0


def _verify_audit() -> int:
    app = create_app()
    with app.app_context():
        broken = audit.first_broken_row()

    if broken is None:
        print("監査ログは改ざんされていません。")
        return 0

    print(f"監査ログの行 {broken} 以降でハッシュチェーンが一致しません(改ざんの可能性)。")
    return 1


if __name__ == "__main__":
    sys.exit(main())
