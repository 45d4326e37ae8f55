"""``python -m hospital_portal serve``: run the hospital portal."""

from __future__ import annotations

import argparse
import logging
import sys

from hospital_portal.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hospital_portal", description="マイナ救急 病院ポータル")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="病院ポータルを起動します")
    serve.add_argument("--host", default="127.0.0.1", help="待ち受けアドレス (既定: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8720, help="待ち受けポート (既定: 8720)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import waitress

    app = create_app()
    logging.getLogger(__name__).info("hospital portal listening on http://%s:%d", args.host, args.port)
    waitress.serve(app, host=args.host, port=args.port, threads=4, ident="hospital_portal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
