"""Tests of the development PKI: root creation, card issuance and the JPKI certificate profile."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from mynacard.certs import TrustStore, verify_auth_certificate
from mynacard.devpki import (
    DEV_AUTH_POLICY_OID,
    DevRoot,
    IssuedCard,
    auth_certificate_expiry,
    build_root,
    ensure_root,
    issue_card,
)
from mynacard.persona import CardPersona

ROOT_DN = (
    "OU=Japan Agency for Local Authority Information Systems,"
    "OU=JPKI for user authentication,O=JPKI-TEST,C=JP"
)


def test_ensure_root_layout(tmp_path: Path) -> None:
    root = ensure_root(tmp_path)

    assert (tmp_path / "auth_root_key.pem").exists()
    assert (tmp_path / "trust" / "auth_root.pem").exists()
    assert root.trust_dir == tmp_path / "trust"
    assert stat.S_IMODE((tmp_path / "auth_root_key.pem").stat().st_mode) == 0o600
    assert len(TrustStore.from_folder(tmp_path / "trust")) == 1


def test_ensure_root_subject(dev_root: DevRoot) -> None:
    certificate = dev_root.certificate
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)

    assert certificate.subject.rfc4514_string() == ROOT_DN
    assert certificate.issuer == certificate.subject
    assert certificate.public_key().key_size == 2048  # type: ignore[union-attr]
    assert constraints.critical and constraints.value.ca
    assert key_usage.value.key_cert_sign and key_usage.value.crl_sign


def test_ensure_root_idempotent(tmp_path: Path) -> None:
    first = ensure_root(tmp_path)
    second = ensure_root(tmp_path)

    assert second.certificate == first.certificate


def test_ensure_root_recovers_missing_cert(tmp_path: Path) -> None:
    first = ensure_root(tmp_path)
    (tmp_path / "trust" / "auth_root.pem").unlink()

    second = ensure_root(tmp_path)

    assert second.certificate.public_key() == first.certificate.public_key()


def test_ensure_root_missing_key(tmp_path: Path) -> None:
    ensure_root(tmp_path)
    (tmp_path / "auth_root_key.pem").unlink()

    with pytest.raises(FileNotFoundError, match="auth_root_key.pem"):
        ensure_root(tmp_path)


def test_issue_card_files(issued_template: IssuedCard) -> None:
    card_dir = issued_template.card_dir

    for name in ("persona.json", "auth_key.pem", "auth_cert.der", "auth_ca_cert.der"):
        assert (card_dir / name).exists(), name
    assert stat.S_IMODE((card_dir / "auth_key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((card_dir / "persona.json").stat().st_mode) == 0o600
    assert (card_dir / "auth_cert.der").read_bytes() == issued_template.certificate_der


def test_issue_card_profile(issued_template: IssuedCard, dev_root: DevRoot) -> None:
    certificate = x509.load_der_x509_certificate(issued_template.certificate_der)
    key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value

    assert [attribute.oid for attribute in certificate.subject] == [NameOID.COUNTRY_NAME, NameOID.COMMON_NAME]
    assert len(common_name) == 23
    assert str(common_name).isalnum()
    assert str(common_name).upper() == common_name
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert not key_usage.value.content_commitment
    assert [policy.policy_identifier for policy in policies.value] == [DEV_AUTH_POLICY_OID]
    assert certificate.issuer == dev_root.certificate.subject
    assert issued_template.serial_hex == f"{certificate.serial_number:X}".zfill(len(issued_template.serial_hex))
    assert issued_template.issuer == ROOT_DN


def test_issue_card_idempotent(dev_root: DevRoot, tmp_path: Path, persona_factory: Callable[..., CardPersona]) -> None:
    first = issue_card(dev_root, persona_factory(), tmp_path / "card")
    second = issue_card(dev_root, persona_factory(given_name="changed"), tmp_path / "card")

    assert second == first
    assert CardPersona.load(tmp_path / "card" / "persona.json").given_name == "幹也"


def test_issue_card_incomplete_dir(dev_root: DevRoot, tmp_path: Path, persona_factory) -> None:
    issued = issue_card(dev_root, persona_factory(), tmp_path / "card")
    (issued.card_dir / "auth_key.pem").unlink()

    with pytest.raises(FileNotFoundError, match="auth_key.pem"):
        issue_card(dev_root, persona_factory(), tmp_path / "card")


def test_issue_card_validity(tmp_path: Path, persona_factory) -> None:
    issued_at = datetime(2025, 10, 27, 1, 0, tzinfo=timezone.utc)
    root = build_root(now=issued_at - timedelta(days=1))

    issued = issue_card(root, persona_factory(), tmp_path / "card", now=issued_at)

    certificate = x509.load_der_x509_certificate(issued.certificate_der)
    assert certificate.not_valid_before_utc == issued_at
    assert certificate.not_valid_after_utc == datetime(2030, 2, 17, 14, 59, 59, tzinfo=timezone.utc)
    verify_auth_certificate(issued.certificate_der, TrustStore([root.certificate]), at=issued_at)


@pytest.mark.parametrize(
    ("birth", "issued", "expiry"),
    [
        # Issued after this year's birthday: the first birthday counted is next year's.
        (date(1980, 2, 17), datetime(2025, 10, 27, 1, 0, tzinfo=timezone.utc), "2030-02-17"),
        # Issued before this year's birthday: this year's birthday is the first.
        (date(1980, 11, 3), datetime(2025, 10, 27, 1, 0, tzinfo=timezone.utc), "2029-11-03"),
        # Issued on the birthday itself: that day does not count.
        (date(1990, 10, 27), datetime(2025, 10, 27, 1, 0, tzinfo=timezone.utc), "2030-10-27"),
        # 16:00 UTC on 26 October is already 27 October in JST.
        (date(1990, 10, 27), datetime(2025, 10, 26, 16, 0, tzinfo=timezone.utc), "2030-10-27"),
        (date(2000, 2, 29), datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc), "2030-02-28"),
    ],
)
def test_auth_certificate_expiry(birth: date, issued: datetime, expiry: str) -> None:
    result = auth_certificate_expiry(birth, issued)

    assert result.astimezone(timezone.utc).isoformat() == f"{date.fromisoformat(expiry).isoformat()}T14:59:59+00:00"


def test_auth_certificate_expiry_naive() -> None:
    with pytest.raises(ValueError):
        auth_certificate_expiry(date(1980, 1, 1), datetime(2025, 1, 1))
