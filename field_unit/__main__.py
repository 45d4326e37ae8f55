"""``python -m field_unit``: run the tablet app on loopback, or drain the outbox once."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from field_unit.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m field_unit", description="マイナ救急 救急隊端末")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="端末アプリを起動します")
    serve.add_argument("--host", default="127.0.0.1", help="待ち受けアドレス (既定: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8730, help="待ち受けポート (既定: 8730)")
    commands.add_parser("drain", help="未送信の送信待ちをハブへ送ります(通信できる間)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "drain":
        return _drain()

    import waitress

    os.environ.setdefault("FIELD_SCHEDULER", "1")
    app = create_app()
    logging.getLogger(__name__).info("field unit listening on http://%s:%d", args.host, args.port)
    waitress.serve(app, host=args.host, port=args.port, threads=4, ident="field_unit")
    return 0


def _drain() -> int:
    from field_unit import outbox

    app = create_app({"SCHEDULER": False})
    with app.app_context():
        result = outbox.drain(force=True)
        remaining = outbox.pending_count()

    print(f"送信 {result.sent} 件、拒否 {result.rejected} 件、残り {remaining} 件")
    return 0 if remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
