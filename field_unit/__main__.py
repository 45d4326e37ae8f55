"""``python -m field_unit serve``: run the tablet app on loopback."""

from __future__ import annotations

import argparse
import logging
import sys

from field_unit.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m field_unit", description="マイナ救急 救急隊端末")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="端末アプリを起動します")
    serve.add_argument("--host", default="127.0.0.1", help="待ち受けアドレス (既定: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8730, help="待ち受けポート (既定: 8730)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import waitress

    app = create_app()
    logging.getLogger(__name__).info("field unit listening on http://%s:%d", args.host, args.port)
    waitress.serve(app, host=args.host, port=args.port, threads=4, ident="field_unit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
