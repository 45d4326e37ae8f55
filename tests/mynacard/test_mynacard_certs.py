"""Tests of auth-certificate verification and the trust store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mynacard.certs import TrustStore, certificate_info, serial_to_hex, verify_auth_certificate
from mynacard.devpki import DevRoot, IssuedCard, build_auth_certificate, build_root, generate_rsa_key
from mynacard.errors import (
    CertificateError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateUsageError,
    UntrustedCertificateError,
)

JLIS_ROOTS = Path("/work/shared/data/jpki")
AUTH_CA_2015_SHA256 = (
    "4D:CF:C4:CA:0A:AF:9F:B2:A3:08:1B:3F:0C:99:1C:32:0B:3A:CC:00:86:67:A3:41:EE:AE:C5:AF:1D:58:CA:7D"
)
NOW = datetime(2027, 4, 1, 3, 0, tzinfo=timezone.utc)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def auth_certificate(root: DevRoot, not_before: datetime, not_after: datetime, **options: bool) -> bytes:
    key = generate_rsa_key()
    return der(build_auth_certificate(root, key.public_key(), "A" * 23, not_before, not_after, **options))


@pytest.fixture(scope="module")
def root() -> DevRoot:
    return build_root(now=NOW - timedelta(days=365))


@pytest.fixture(scope="module")
def valid_der(root: DevRoot) -> bytes:
    return auth_certificate(root, NOW - timedelta(days=30), NOW + timedelta(days=365))


def test_verify_success(root: DevRoot, valid_der: bytes) -> None:
    info = verify_auth_certificate(valid_der, TrustStore([root.certificate]), at=NOW)

    certificate = x509.load_der_x509_certificate(valid_der)
    assert info.subject == "CN=AAAAAAAAAAAAAAAAAAAAAAA,C=JP"
    assert info.common_name == "A" * 23
    assert info.serial_hex == serial_to_hex(certificate.serial_number)
    assert info.issuer == root.certificate.subject.rfc4514_string()
    assert info.not_before == certificate.not_valid_before_utc
    assert info.not_after == certificate.not_valid_after_utc
    assert len(info.sha256_fingerprint) == 32 * 3 - 1


def test_verify_issued_card(dev_root: DevRoot, issued_template: IssuedCard) -> None:
    trust = TrustStore.from_folder(dev_root.trust_dir)  # type: ignore[arg-type]

    info = verify_auth_certificate(issued_template.certificate_der, trust)

    assert info.serial_hex == issued_template.serial_hex
    assert info.issuer == issued_template.issuer


def test_verify_wrong_root(valid_der: bytes) -> None:
    other = build_root(now=NOW - timedelta(days=365))

    with pytest.raises(UntrustedCertificateError) as caught:
        verify_auth_certificate(valid_der, TrustStore([other.certificate]), at=NOW)

    assert "発行元" in caught.value.user_message


def test_verify_against_jlis_roots(valid_der: bytes) -> None:
    if not JLIS_ROOTS.is_dir():
        pytest.skip(f"J-LIS root certificates not found in {JLIS_ROOTS}")
    trust = TrustStore.from_folder(JLIS_ROOTS)

    with pytest.raises(UntrustedCertificateError):
        verify_auth_certificate(valid_der, trust, at=NOW)


def test_jlis_roots_fingerprint() -> None:
    if not JLIS_ROOTS.is_dir():
        pytest.skip(f"J-LIS root certificates not found in {JLIS_ROOTS}")
    certificate = x509.load_pem_x509_certificate((JLIS_ROOTS / "auth_ca_2015.pem").read_bytes())

    info = certificate_info(certificate)

    assert info.sha256_fingerprint == AUTH_CA_2015_SHA256
    assert info.serial_hex == "01"


def test_verify_expired(root: DevRoot) -> None:
    expired = auth_certificate(root, NOW - timedelta(days=400), NOW - timedelta(days=1))

    with pytest.raises(CertificateExpiredError):
        verify_auth_certificate(expired, TrustStore([root.certificate]), at=NOW)


def test_verify_not_yet_valid(root: DevRoot) -> None:
    future = auth_certificate(root, NOW + timedelta(days=1), NOW + timedelta(days=400))

    with pytest.raises(CertificateNotYetValidError):
        verify_auth_certificate(future, TrustStore([root.certificate]), at=NOW)


def test_verify_missing_key_usage(root: DevRoot) -> None:
    no_usage = auth_certificate(root, NOW - timedelta(days=1), NOW + timedelta(days=1), include_key_usage=False)

    with pytest.raises(CertificateUsageError, match="no keyUsage"):
        verify_auth_certificate(no_usage, TrustStore([root.certificate]), at=NOW)


def test_verify_ca_certificate_rejected(root: DevRoot) -> None:
    with pytest.raises(CertificateUsageError):
        verify_auth_certificate(der(root.certificate), TrustStore([root.certificate]), at=NOW)


def test_verify_root_expired(root: DevRoot) -> None:
    late = root.certificate.not_valid_after_utc + timedelta(days=1)
    long_lived = auth_certificate(root, NOW, late + timedelta(days=1))

    with pytest.raises(CertificateExpiredError) as caught:
        verify_auth_certificate(long_lived, TrustStore([root.certificate]), at=late)

    assert "ルート証明書" in caught.value.user_message


def test_root_chosen_by_signature(tmp_path: Path) -> None:
    roots = [build_root(now=NOW - timedelta(days=365)) for _ in range(3)]
    for index, candidate in enumerate(roots):
        (tmp_path / f"root{index}.pem").write_bytes(candidate.certificate.public_bytes(serialization.Encoding.PEM))
    middle = roots[1]
    certificate_der = auth_certificate(middle, NOW - timedelta(days=1), NOW + timedelta(days=30))
    trust = TrustStore.from_folder(tmp_path)

    info = verify_auth_certificate(certificate_der, trust, at=NOW)

    assert len({root.certificate.subject for root in roots}) == 1, "all three roots share one DN"
    assert trust.find_issuer(x509.load_der_x509_certificate(certificate_der)) == middle.certificate
    assert info.issuer == middle.certificate.subject.rfc4514_string()


def test_verify_naive_time_rejected(root: DevRoot, valid_der: bytes) -> None:
    with pytest.raises(ValueError):
        verify_auth_certificate(valid_der, TrustStore([root.certificate]), at=datetime(2027, 4, 1))


def test_verify_malformed_der(root: DevRoot) -> None:
    with pytest.raises(CertificateError):
        verify_auth_certificate(b"\x30\x03\x02\x01\x01", TrustStore([root.certificate]), at=NOW)


def test_verify_accepts_pem(root: DevRoot, valid_der: bytes) -> None:
    pem = x509.load_der_x509_certificate(valid_der).public_bytes(serialization.Encoding.PEM)

    info = verify_auth_certificate(pem, TrustStore([root.certificate]), at=NOW)

    assert info.common_name == "A" * 23


def test_trust_store_formats(tmp_path: Path) -> None:
    roots = [build_root(now=NOW) for _ in range(4)]
    pem = [r.certificate.public_bytes(serialization.Encoding.PEM) for r in roots]
    (tmp_path / "two.pem").write_bytes(pem[0] + pem[1])
    (tmp_path / "one.der").write_bytes(der(roots[2].certificate))
    (tmp_path / "one.CER").write_bytes(pem[3])
    (tmp_path / "notes.txt").write_text("not a certificate")

    trust = TrustStore.from_folder(tmp_path)

    assert len(trust) == 4


def test_trust_store_jlis_folder() -> None:
    if not JLIS_ROOTS.is_dir():
        pytest.skip(f"J-LIS root certificates not found in {JLIS_ROOTS}")

    trust = TrustStore.from_folder(JLIS_ROOTS)

    assert len(trust) == 4


def test_trust_store_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no certificates"):
        TrustStore.from_folder(tmp_path)


def test_trust_store_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TrustStore.from_folder(tmp_path / "absent")


def test_trust_store_bad_file(tmp_path: Path) -> None:
    (tmp_path / "broken.der").write_bytes(b"\x30\x00")

    with pytest.raises(CertificateError, match="broken.der"):
        TrustStore.from_folder(tmp_path)


@pytest.mark.parametrize(("serial", "expected"), [(1, "01"), (0x133C349, "0133C349"), (0xABC, "0ABC")])
def test_serial_to_hex(serial: int, expected: str) -> None:
    assert serial_to_hex(serial) == expected
