"""Fixtures for hub tests: a fresh hub database, a development PKI and a linked card.

Every test that uses ``app`` runs twice: on a SQLite file and on the PostgreSQL
server named by ``HUB_TEST_POSTGRES_URL`` (default: the role and database that
scripts/test.sh creates on the local server), each time in a fresh database schema made by the Alembic
migrations. ``HUB_TEST_BACKENDS=sqlite`` limits a run to SQLite.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub import seed
from hub.app import create_app
from hub.models import ClinicalItem, Insurance, Medication, Organization, Patient, Visit, db
from mynacard import devpki
from mynacard.persona import CardPersona

DEVICE_TOKEN = "device-token-for-tests"
HOSPITAL_TOKEN = "hospital-token-for-tests"
OTHER_HOSPITAL_TOKEN = "other-hospital-token-for-tests"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> devpki.DevRoot:
    return devpki.ensure_root(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def issued_card(pki: devpki.DevRoot, tmp_path_factory: pytest.TempPathFactory) -> devpki.IssuedCard:
    persona = CardPersona(
        persona_id="P-TEST-1",
        family_name="試験",
        given_name="花子",
        birth_date=date(1950, 4, 1),
        sex="2",
        address="北海道札幌市中央区北1条西2丁目",
        auth_pin="1234",
    )
    return devpki.issue_card(pki, persona, tmp_path_factory.mktemp("card"))


@pytest.fixture(scope="session")
def unlinked_card(pki: devpki.DevRoot, tmp_path_factory: pytest.TempPathFactory) -> devpki.IssuedCard:
    persona = CardPersona("P-TEST-2", "未登録", "太郎", date(1980, 1, 1), "1", "北海道旭川市", "5678")
    return devpki.issue_card(pki, persona, tmp_path_factory.mktemp("card2"))


POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://myna_test:myna_test@127.0.0.1:5432/myna_hub_test")
BACKENDS = os.environ.get("HUB_TEST_BACKENDS", "sqlite,postgresql").split(",")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Create the test database on the PostgreSQL server once, and return its URL."""
    url = make_url(POSTGRES_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    except ProgrammingError:
        pass  # another test run created it at the same moment
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL at {url.host}:{url.port} is not reachable ({exc.orig}); run scripts/test.sh, which starts it")
    finally:
        admin.dispose()

    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def database_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict]:
    """Flask config of one fresh, empty database: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'hub.sqlite3'}"}
        return

    url = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))

    yield {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-c search_path={schema}"}},
    }

    with engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture()
def app(tmp_path: Path, pki: devpki.DevRoot, issued_card: devpki.IssuedCard, database_config: dict,
        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HUB_INSTANCE_DIR", str(tmp_path))
    app = create_app({"TRUST_DIR": str(pki_trust_dir(pki)), **database_config})
    with app.app_context():
        _seed(issued_card)

    yield app

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


def pki_trust_dir(pki: devpki.DevRoot) -> Path:
    return pki.trust_dir


def certificate_b64(card: devpki.IssuedCard) -> str:
    return base64.b64encode(card.certificate_der).decode("ascii")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _seed(card: devpki.IssuedCard) -> None:
    today = datetime.now(timezone.utc).date()
    db.session.add_all(
        [
            Organization(code="FD-1", kind="fire_department", name="試験消防局"),
            Organization(code="H-1", kind="hospital", name="試験病院", latitude=43.06, longitude=141.35, emergency_designated=True),
            Organization(code="H-2", kind="hospital", name="別の病院", latitude=43.07, longitude=141.36, emergency_designated=True),
        ]
    )
    patient = Patient(
        patient_key="P-TEST-1",
        family_name="試験",
        given_name="花子",
        family_kana="シケン",
        given_kana="ハナコ",
        birth_date=date(1950, 4, 1),
        sex="2",
        address="北海道札幌市中央区北1条西2丁目",
        dialysis=False,
        last_checkup_on=today - timedelta(days=200),
    )
    db.session.add(patient)
    db.session.flush()
    db.session.add_all(
        [
            Insurance(patient_id=patient.id, insurer_number="39011001", insurer_name="北海道後期高齢者医療広域連合",
                      symbol="", number="12345678", branch="00", relationship="本人", copay_ratio=10,
                      valid_from=date(2020, 4, 1), valid_to=None, limit_category=None),
            Medication(patient_id=patient.id, drug_code="333100XXX001", drug_name="ワーファリン錠1mg", ingredient="ワルファリンカリウム",
                       dispensed_on=today - timedelta(days=20), days=28, dose="1日1回 2錠", hospital_name="試験病院", source="claims"),
            Medication(patient_id=patient.id, drug_code="217100XXX001", drug_name="古い薬", ingredient="古い成分",
                       dispensed_on=today - timedelta(days=200), days=28, dose="1日1回", hospital_name="試験病院", source="claims"),
            Medication(patient_id=patient.id, drug_code="114100XXX001", drug_name="電子処方の薬", ingredient="アセトアミノフェン",
                       dispensed_on=today - timedelta(days=60), days=5, dose="頓用", hospital_name="試験病院", source="eprescription"),
            Visit(patient_id=patient.id, hospital_code="H-1", hospital_name="試験病院", visited_on=today - timedelta(days=10), department="内科"),
            Visit(patient_id=patient.id, hospital_code="H-1", hospital_name="試験病院", visited_on=today - timedelta(days=400), department="内科"),
            ClinicalItem(patient_id=patient.id, category="allergy", name="ペニシリン", recorded_on=None, detail="発疹"),
            ClinicalItem(patient_id=patient.id, category="surgery", name="人工股関節置換術", recorded_on=today - timedelta(days=800), detail="試験病院"),
            ClinicalItem(patient_id=patient.id, category="surgery", name="虫垂切除術", recorded_on=today - timedelta(days=365 * 20), detail="試験病院"),
        ]
    )
    db.session.commit()

    seed.seed_card_links([seed.CardLinkSpec("P-TEST-1", card.issuer, card.serial_hex)])
    seed.seed_clients(
        [
            seed.ClientSpec("unit-1", "device", "FD-1", DEVICE_TOKEN),
            seed.ClientSpec("hospital-1", "hospital", "H-1", HOSPITAL_TOKEN),
            seed.ClientSpec("hospital-2", "hospital", "H-2", OTHER_HOSPITAL_TOKEN),
        ]
    )
