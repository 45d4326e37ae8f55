"""``python -m hub admin ...``: create organisations, devices and staff users (Japanese output).

Organisations form a tree: fire department (消防本部) → station (署) → unit (救急隊).
A device (tablet) belongs to a unit, and its bearer token is shown once at
creation and stored only as SHA-256. A hospital system gets a token the same way.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from hub.accounts import USER_ROLES, create_user
from hub.auth import new_token, token_digest
from hub.models import ApiClient, Organization, User, db

# Which organisation kind each kind may hang under.
PARENT_KINDS = {"station": ("fire_department",), "unit": ("station", "fire_department")}
USER_ORGANIZATION_KINDS = {"hospital_staff": "hospital", "fire_admin": "fire_department"}
KIND_LABELS = {"fire_department": "消防本部", "station": "消防署", "unit": "救急隊", "hospital": "病院"}


class AdminError(ValueError):
    """A request the command rejects; the message is Japanese."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("admin", help="組織・端末・職員を登録します")
    actions = parser.add_subparsers(dest="action", required=True)

    for kind in ("fire-department", "station", "unit", "hospital"):
        sub = actions.add_parser(kind, help=f"{KIND_LABELS[kind.replace('-', '_')]}を登録します")
        sub.add_argument("code", help="組織コード (一意)")
        sub.add_argument("name", help="名称")
        if kind in ("station", "unit"):
            sub.add_argument("--parent", required=True, help="上位組織のコード")
        if kind == "hospital":
            sub.add_argument("--address", default="", help="住所")
            sub.add_argument("--latitude", type=float, help="緯度 (度)")
            sub.add_argument("--longitude", type=float, help="経度 (度)")
            sub.add_argument("--emergency", action="store_true", help="救急告示病院")

    device = actions.add_parser("device", help="救急隊のタブレットを登録し、トークンを一度だけ表示します")
    device.add_argument("name", help="端末名 (一意)")
    device.add_argument("--unit", required=True, help="救急隊のコード")

    system = actions.add_parser("hospital-system", help="病院システムを登録し、トークンを一度だけ表示します")
    system.add_argument("name", help="システム名 (一意)")
    system.add_argument("--hospital", required=True, help="病院のコード")

    user = actions.add_parser("user", help="病院職員または消防本部の管理者を登録します")
    user.add_argument("login", help="ログイン名 (一意)")
    user.add_argument("display_name", help="表示名")
    user.add_argument("--role", required=True, choices=USER_ROLES, help="役割")
    user.add_argument("--organization", required=True, help="所属組織のコード")
    user.add_argument("--password-stdin", action="store_true", help="パスワードを標準入力の 1 行目から読みます")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        message = _dispatch(args)
    except AdminError as exc:
        db.session.rollback()
        err.write(f"登録できませんでした: {exc}\n")
        return 1

    db.session.commit()
    out.write(message + "\n")
    return 0


def _dispatch(args: argparse.Namespace) -> str:
    if args.action in ("fire-department", "station", "unit", "hospital"):
        return _add_organization(args)

    if args.action == "device":
        return _add_client(args.name, "device", _organization(args.unit, ("unit",)).code)

    if args.action == "hospital-system":
        return _add_client(args.name, "hospital", _organization(args.hospital, ("hospital",)).code)

    return _add_user(args)


def _add_organization(args: argparse.Namespace) -> str:
    kind = args.action.replace("-", "_")
    if db.session.execute(db.select(Organization.id).where(Organization.code == args.code)).first() is not None:
        raise AdminError(f"組織コード {args.code} は登録済みです")

    parent_code = None
    if kind in PARENT_KINDS:
        parent_code = _organization(args.parent, PARENT_KINDS[kind]).code

    organization = Organization(code=args.code, kind=kind, name=args.name, parent_code=parent_code)
    if kind == "hospital":
        organization.address = args.address
        organization.latitude = args.latitude
        organization.longitude = args.longitude
        organization.emergency_designated = args.emergency

    db.session.add(organization)
    return f"{KIND_LABELS[kind]}「{args.name}」({args.code}) を登録しました。"


def _organization(code: str, kinds: tuple[str, ...]) -> Organization:
    organization = db.session.execute(db.select(Organization).where(Organization.code == code)).scalar_one_or_none()
    if organization is None:
        raise AdminError(f"組織コード {code} が見つかりません")

    if organization.kind not in kinds:
        expected = "・".join(KIND_LABELS[kind] for kind in kinds)
        raise AdminError(f"{code} は{KIND_LABELS.get(organization.kind, organization.kind)}です。{expected}を指定してください")

    return organization


def _add_client(name: str, role: str, organization_code: str) -> str:
    if db.session.execute(db.select(ApiClient.id).where(ApiClient.name == name)).first() is not None:
        raise AdminError(f"名前 {name} の端末またはシステムは登録済みです")

    token = new_token()
    db.session.add(ApiClient(name=name, role=role, organization_code=organization_code, token_sha256=token_digest(token)))
    return (
        f"「{name}」を登録しました。トークン (この一度しか表示しません。端末に設定してください):\n{token}"
    )


def _add_user(args: argparse.Namespace) -> str:
    _organization(args.organization, (USER_ORGANIZATION_KINDS[args.role],))
    if db.session.execute(db.select(User.id).where(User.login == args.login)).first() is not None:
        raise AdminError(f"ログイン名 {args.login} は登録済みです")

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("パスワード: ")
    if len(password) < 12:
        raise AdminError("パスワードは 12 文字以上にしてください")

    create_user(args.login, args.display_name, args.role, args.organization, password)
    return f"利用者「{args.display_name}」({args.login}、{args.role}) を登録しました。"
