"""Build the demo's instance folder from the real public hospital and drug lists.

The folder (``var/`` unless another is given) gets the development PKI and
one virtual My Number Card per demo persona. It also gets the hub database
with hospitals, drugs, synthetic patients, card links and API clients, and
``stack.json`` with the tokens and the demo hospital. Running it again
reuses what exists.

Usage: ``python scripts/setup_demo.py [--var DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from field_unit.hospitals import distance_km  # noqa: E402
from hub.demo_data import SyntheticPatient, generate_patients  # noqa: E402
from hub.public_data import HospitalRecord, load_drugs, load_hospitals  # noqa: E402
from mynacard import devpki  # noqa: E402
from mynacard.persona import CardPersona  # noqa: E402

DEMO_SEED = 20261204
DEMO_PATIENTS = 200
DEMO_CARDS = 3
DEMO_INCIDENTS = 3000
FIRE_DEPARTMENT = ("FD-011002", "札幌市消防局")
FIRE_ADMIN_LOGIN = "fd-admin"
UNIT_NAME = "札幌市消防局 中央救急1"
SCENE = (43.0687, 141.3508)  # Sapporo Station


def shared_data_dir() -> Path:
    configured = os.environ.get("MYNA_SHARED_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    for candidate in candidates:
        if (candidate / "hospitals").is_dir():
            return candidate

    raise SystemExit("公開データのフォルダ (shared/data) が見つかりません。MYNA_SHARED_DATA で指定してください。")


def build(var_dir: Path, data_dir: Path, today: date | None = None) -> dict:
    """Make everything the stack needs under ``var_dir``; return the stack description."""
    today = today or datetime.now(timezone.utc).date()
    var_dir.mkdir(parents=True, exist_ok=True)

    print("==> 公開データを読み込んでいます(北海道の病院一覧、薬価基準収載品目リスト)")
    hospitals = load_hospitals(data_dir / "hospitals" / "hokkaido_hospital_list_H27.csv")
    drugs = load_drugs(data_dir / "drugs" / "mhlw_yakka_kijun_20250716.csv")
    patients = generate_patients(hospitals, drugs, DEMO_PATIENTS, DEMO_SEED, today)
    print(f"    病院 {len(hospitals)} 件、医薬品 {len(drugs)} 件、架空の患者 {len(patients)} 人")

    print("==> 開発用の認証局と仮想マイナンバーカードを作っています")
    cards = _issue_cards(var_dir, patients[:DEMO_CARDS])

    secrets = _load_or_create_secrets(var_dir)
    demo_hospital = _nearest_emergency_hospital(hospitals)
    stack = {
        "trust_dir": str(var_dir / "pki" / "trust"),
        "cards": cards,
        "demo_hospital": {"code": demo_hospital.code, "name": demo_hospital.name},
        "unit_name": UNIT_NAME,
        "scene": list(SCENE),
        "tokens": secrets,
    }

    print("==> ハブのデータベースを準備しています(救急搬送困難事案の週次統計を含む)")
    _seed_hub(var_dir, stack, hospitals, drugs, patients, data_dir / "fdma")

    print("==> 病院ポータルのデモ用職員アカウントを準備しています")
    stack["portal_accounts"] = _seed_portal(var_dir, stack)

    (var_dir / "stack.json").write_text(json.dumps(stack, ensure_ascii=False, indent=2), encoding="utf-8")
    os.chmod(var_dir / "stack.json", 0o600)
    print(f"==> 準備完了: {var_dir}")
    return stack


def _issue_cards(var_dir: Path, patients: list[SyntheticPatient]) -> list[dict]:
    root = devpki.ensure_root(var_dir / "pki")
    cards = []
    for index, patient in enumerate(patients):
        persona = CardPersona(
            persona_id=patient.patient_id,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
            sex=patient.sex,
            address=patient.address,
            auth_pin=f"{1234 + index:04d}",
        )
        issued = devpki.issue_card(root, persona, var_dir / "cards" / patient.patient_id)
        cards.append(
            {
                "patient_key": patient.patient_id,
                "card_dir": str(issued.card_dir),
                "issuer": issued.issuer,
                "serial_hex": issued.serial_hex,
                "label": f"{patient.family_name} {patient.given_name}",
            }
        )

    return cards


def _load_or_create_secrets(var_dir: Path) -> dict:
    from hub.auth import new_token

    path = var_dir / "secrets.json"
    secrets = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for name in ("field_unit", "hospital", "portal_secret_key", "hub_secret_key", "fire_admin_password", "field_api"):
        secrets.setdefault(name, new_token())

    path.write_text(json.dumps(secrets), encoding="utf-8")
    os.chmod(path, 0o600)
    return secrets


def _nearest_emergency_hospital(hospitals: list[HospitalRecord]) -> HospitalRecord:
    located = [h for h in hospitals if h.emergency_designated and h.latitude is not None and h.longitude is not None]
    return min(located, key=lambda h: distance_km(SCENE[0], SCENE[1], h.latitude, h.longitude))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for an app factory, then restore them.

    The tests call :func:`build` in-process; a leftover variable would change
    how later tests' apps are configured.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _seed_hub(var_dir: Path, stack: dict, hospitals: list, drugs: list, patients: list, fdma_dir: Path) -> None:
    from hub import seed
    from hub.app import create_app

    with _environment({"HUB_INSTANCE_DIR": str(var_dir / "hub"), "HUB_TRUST_DIR": stack["trust_dir"]}):
        app = create_app()

    hospital_names = {h.code: h.name for h in hospitals}
    with app.app_context():
        seed.seed_organizations(hospitals, [FIRE_DEPARTMENT])
        seed.seed_drugs(drugs)
        seed.seed_patients(patients, hospital_names)
        seed.seed_card_links(
            seed.CardLinkSpec(card["patient_key"], card["issuer"], card["serial_hex"]) for card in stack["cards"]
        )
        seed.seed_clients(
            [
                seed.ClientSpec("field-unit-demo", "device", FIRE_DEPARTMENT[0], stack["tokens"]["field_unit"]),
                seed.ClientSpec("hospital-demo", "hospital", stack["demo_hospital"]["code"], stack["tokens"]["hospital"]),
            ]
        )
        _seed_fire_admin(stack["tokens"]["fire_admin_password"][:16])
        _seed_incident_reports(hospitals)
        _seed_fdma_series(fdma_dir)


def _seed_incident_reports(hospitals: list[HospitalRecord]) -> None:
    """Store a year of synthetic de-identified incidents from the demo tablet, for the statistics screens."""
    from hub.demo_incidents import generate_incident_reports
    from hub.models import ApiClient, IncidentReport, db

    client = db.session.execute(db.select(ApiClient).where(ApiClient.name == "field-unit-demo")).scalar_one()
    if db.session.execute(db.select(IncidentReport.id).where(IncidentReport.client_id == client.id).limit(1)).first():
        return

    codes = [h.code for h in hospitals if h.emergency_designated and h.address.startswith("札幌市")] or [h.code for h in hospitals[:20]]
    reports = generate_incident_reports(DEMO_INCIDENTS, DEMO_SEED, datetime.now(timezone.utc).date(), "札幌市消防局", codes)
    db.session.add_all(
        IncidentReport(
            incident_id=report.incident_id,
            client_id=client.id,
            fire_department_code=FIRE_DEPARTMENT[0],
            payload=report.to_dict(),
        )
        for report in reports
    )
    db.session.commit()


def _seed_fdma_series(fdma_dir: Path) -> None:
    """Import the FDMA weekly 救急搬送困難事案 series, so the department can compare itself with the nation."""
    from hub.statistics.importing import import_fdma_series
    from hub.statistics.models import StatFdmaWeekly
    from hub.models import db

    if db.session.execute(db.select(StatFdmaWeekly.id).limit(1)).first() is None:
        import_fdma_series(fdma_dir)


def _seed_fire_admin(password: str) -> None:
    """Create the fire department's administrator, who reads the statistics screens."""
    from hub.accounts import create_user
    from hub.models import User, db

    if db.session.execute(db.select(User.id).where(User.login == FIRE_ADMIN_LOGIN)).first() is None:
        create_user(FIRE_ADMIN_LOGIN, "消防 管理者", "fire_admin", FIRE_DEPARTMENT[0], password)
        db.session.commit()


# Demo staff of the hospital portal: (login id, name, role, emergency-view rights).
DEMO_STAFF = (
    ("doctor", "救急 太郎", "doctor", True),
    ("nurse", "看護 花子", "nurse", False),
    ("clerk", "事務 一郎", "clerk", False),
)


def portal_environment(var_dir: Path, stack: dict) -> dict[str, str]:
    """Return the hospital portal's settings for the demo hospital."""
    return {
        "PORTAL_HUB_TOKEN": stack["tokens"]["hospital"],
        "PORTAL_HOSPITAL_CODE": stack["demo_hospital"]["code"],
        "PORTAL_HOSPITAL_NAME": stack["demo_hospital"]["name"],
        "PORTAL_INSTANCE_DIR": str(var_dir / "portal"),
        "PORTAL_SECRET_KEY": stack["tokens"]["portal_secret_key"],
        # The scripted incident checks delivery through /api/inbox; a deployment leaves this off.
        "PORTAL_API_LOOPBACK_OPEN": "1",
    }


def _seed_portal(var_dir: Path, stack: dict) -> list[dict]:
    """Create the demo staff once; their passwords and TOTP secret stay in var/ (mode 600)."""
    path = var_dir / "demo-accounts.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))

    from hospital_portal.app import create_app
    from hospital_portal.staff import create_staff
    from hub.auth import new_token

    with _environment(portal_environment(var_dir, stack)):
        app = create_app()

    accounts = []
    with app.app_context():
        for login_id, name, role, emergency_view in DEMO_STAFF:
            password = new_token()[:16]
            created = create_staff(stack["demo_hospital"]["code"], login_id, name, role, password, emergency_view)
            accounts.append({"login_id": login_id, "name": name, "role": role, "password": password, "totp_secret": created.totp_secret})

    path.write_text(json.dumps(accounts, ensure_ascii=False, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return accounts


def main() -> int:
    parser = argparse.ArgumentParser(description="デモ用データを作成します")
    parser.add_argument("--var", type=Path, default=REPO / "var", help="インスタンスフォルダ (既定: var/)")
    args = parser.parse_args()
    build(args.var.resolve(), shared_data_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
