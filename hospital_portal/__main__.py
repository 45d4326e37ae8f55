"""``python -m hospital_portal``: run the portal (``serve``) or create a staff account (``add-staff``)."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from hospital_portal.app import create_app
from hospital_portal.logsafe import portal_logger
from hospital_portal.models import ROLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hospital_portal", description="マイナ救急 病院ポータル")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="病院ポータルを起動します")
    serve.add_argument("--host", default="127.0.0.1", help="待ち受けアドレス (既定: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8720, help="待ち受けポート (既定: 8720)")

    add_staff = commands.add_parser("add-staff", help="職員アカウントを作成します (病院は PORTAL_HOSPITAL_CODE)")
    add_staff.add_argument("--login-id", required=True, help="ログインID")
    add_staff.add_argument("--name", required=True, help="表示する氏名")
    add_staff.add_argument("--role", required=True, choices=sorted(ROLES), help="職種: doctor 医師, nurse 看護師, clerk 事務")
    add_staff.add_argument("--emergency-view", action="store_true", help="救急時閲覧権限を付与します (二段階認証が必須になります)")
    add_staff.add_argument("--password-stdin", action="store_true", help="パスワードを標準入力の1行目から読みます")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "serve":
        return _serve(args.host, args.port)

    return _add_staff(args)


def _serve(host: str, port: int) -> int:
    import waitress

    app = create_app()
    logging.getLogger(__name__).info("hospital portal listening on http://%s:%d", host, port)
    # Each open inbox screen polls every few seconds, so a few threads serve a whole ER.
    portal_logger("waitress")
    waitress.serve(app, host=host, port=port, threads=8, ident="hospital_portal")
    return 0


def _add_staff(args: argparse.Namespace) -> int:
    from hospital_portal.staff import StaffError, create_staff
    from hospital_portal.totp import provisioning_uri

    app = create_app()
    hospital_code = app.config["HOSPITAL_CODE"]
    if not hospital_code:
        print("エラー: PORTAL_HOSPITAL_CODE (この病院のコード) を設定してください。", file=sys.stderr)
        return 2

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("パスワード: ")
    with app.app_context():
        try:
            created = create_staff(hospital_code, args.login_id, args.name, args.role, password, args.emergency_view)
        except StaffError as exc:
            print(f"エラー: {exc.user_message}", file=sys.stderr)
            return 1

    print(f"職員アカウントを作成しました: {args.login_id} ({ROLES[args.role]})")
    if created.totp_secret:
        print("認証アプリに次の秘密鍵を登録してください (この表示は一度だけです):")
        print(f"  秘密鍵: {created.totp_secret}")
        print(f"  URI: {provisioning_uri(created.totp_secret, args.login_id, app.config['HOSPITAL_NAME'])}")

    return 0


if __name__ == "__main__":
    sys.exit(main())
