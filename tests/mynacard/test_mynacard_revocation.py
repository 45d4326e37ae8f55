"""Tests of the certificate policy, production mode, CRL files and an OCSP responder on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mynacard.certs import (
    DEV_AUTH_POLICY_OID,
    JPKI_AUTH_POLICY_OID,
    TrustStore,
    ValidationOptions,
    verify_auth_certificate,
)
from mynacard.devpki import DevRoot, build_auth_certificate, build_root, generate_rsa_key
from mynacard.errors import CertificatePolicyError, CertificateRevokedError, RevocationCheckError
from mynacard.revocation import CrlFile, OcspResponder, revocation_from_config

NOW = datetime(2027, 4, 1, 3, 0, tzinfo=timezone.utc)
PRODUCTION_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
    ]
)


@pytest.fixture(scope="module")
def root() -> DevRoot:
    return build_root(now=NOW - timedelta(days=365))


@pytest.fixture(scope="module")
def leaf(root: DevRoot) -> x509.Certificate:
    key = generate_rsa_key()
    return build_auth_certificate(root, key.public_key(), "B" * 23, NOW - timedelta(days=30), NOW + timedelta(days=300))


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def with_policy(root: DevRoot, policy: x509.ObjectIdentifier | None) -> bytes:
    key = generate_rsa_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "C" * 23)]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    )
    if policy is not None:
        builder = builder.add_extension(x509.CertificatePolicies([x509.PolicyInformation(policy, None)]), False)
    return der(builder.sign(root.key, hashes.SHA256()))


# Policy and production mode ----------------------------------------------------------


def test_policy_dev_accepted(root: DevRoot, leaf: x509.Certificate) -> None:
    info = verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW)

    assert info.serial_hex


def test_policy_jpki_accepted(root: DevRoot) -> None:
    verify_auth_certificate(with_policy(root, JPKI_AUTH_POLICY_OID), TrustStore([root.certificate]), at=NOW)


def test_policy_missing_rejected(root: DevRoot) -> None:
    with pytest.raises(CertificatePolicyError, match="no certificatePolicies"):
        verify_auth_certificate(with_policy(root, None), TrustStore([root.certificate]), at=NOW)


def test_policy_sign_rejected(root: DevRoot) -> None:
    sign_policy = x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.20")

    with pytest.raises(CertificatePolicyError, match="1.2.392.200149.8.5.1.1.20"):
        verify_auth_certificate(with_policy(root, sign_policy), TrustStore([root.certificate]), at=NOW)


def test_policy_custom_set(root: DevRoot, leaf: x509.Certificate) -> None:
    options = ValidationOptions(accepted_policies=frozenset({JPKI_AUTH_POLICY_OID}))

    with pytest.raises(CertificatePolicyError):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=options)


def test_production_rejects_test_root(root: DevRoot) -> None:
    options = ValidationOptions(production=True)

    with pytest.raises(CertificatePolicyError) as caught:
        verify_auth_certificate(with_policy(root, JPKI_AUTH_POLICY_OID), TrustStore([root.certificate]), at=NOW, options=options)

    assert "テスト用" in caught.value.user_message


def test_production_rejects_dev_policy() -> None:
    production = build_root(now=NOW - timedelta(days=365), subject=PRODUCTION_SUBJECT)
    options = ValidationOptions(production=True)

    with pytest.raises(CertificatePolicyError):
        verify_auth_certificate(with_policy(production, DEV_AUTH_POLICY_OID), TrustStore([production.certificate]), at=NOW, options=options)


def test_production_accepts_jpki_root() -> None:
    production = build_root(now=NOW - timedelta(days=365), subject=PRODUCTION_SUBJECT)
    options = ValidationOptions(production=True)

    verify_auth_certificate(
        with_policy(production, JPKI_AUTH_POLICY_OID), TrustStore([production.certificate]), at=NOW, options=options
    )


def test_trust_store_root_generations(root: DevRoot, leaf: x509.Certificate) -> None:
    """Two roots with one DN: the signature picks the right one, wherever it sits in the folder."""
    other_generation = build_root(now=NOW - timedelta(days=10))
    store = TrustStore([other_generation.certificate, root.certificate])

    assert store.find_issuer(leaf) == root.certificate


# CRL -------------------------------------------------------------------------------------


def write_crl(path: Path, root: DevRoot, revoked: list[int], next_update: datetime, signer: DevRoot | None = None) -> Path:
    signer = signer or root
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.certificate.subject)
        .last_update(NOW - timedelta(days=1))
        .next_update(next_update)
    )
    for serial in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - timedelta(hours=1)).build()
        builder = builder.add_revoked_certificate(entry)
    path.write_bytes(builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


def crl_options(path: Path) -> ValidationOptions:
    return ValidationOptions(revocation=CrlFile(path))


def test_crl_revoked(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    crl = write_crl(tmp_path / "auth.crl", root, [leaf.serial_number], NOW + timedelta(days=1))

    with pytest.raises(CertificateRevokedError) as caught:
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(crl))

    assert "失効" in caught.value.user_message


def test_crl_good(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    crl = write_crl(tmp_path / "auth.crl", root, [leaf.serial_number + 1], NOW + timedelta(days=1))

    verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(crl))


def test_crl_stale(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    crl = write_crl(tmp_path / "auth.crl", root, [], NOW - timedelta(minutes=1))

    with pytest.raises(RevocationCheckError, match="stale"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(crl))


def test_crl_wrong_signer(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    crl = write_crl(tmp_path / "auth.crl", root, [], NOW + timedelta(days=1), signer=build_root(now=NOW))

    with pytest.raises(RevocationCheckError, match="not signed"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(crl))


def test_crl_missing_file(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    with pytest.raises(RevocationCheckError, match="cannot read"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(tmp_path / "none"))


def test_crl_malformed(tmp_path: Path, root: DevRoot, leaf: x509.Certificate) -> None:
    (tmp_path / "bad.crl").write_bytes(b"not a crl")

    with pytest.raises(RevocationCheckError, match="malformed"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=crl_options(tmp_path / "bad.crl"))


# OCSP --------------------------------------------------------------------------------------


class Responder:
    """A tiny OCSP responder on 127.0.0.1 built with cryptography's OCSP builder."""

    def __init__(self, root: DevRoot) -> None:
        self.root = root
        self.revoked: set[int] = set()
        self.unknown: set[int] = set()
        self.mode = "normal"
        self.requests = 0
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                responder.requests += 1
                payload = responder.answer(ocsp.load_der_ocsp_request(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ocsp"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, request: ocsp.OCSPRequest) -> bytes:
        if self.mode == "try_later":
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(serialization.Encoding.DER)
        serial = request.serial_number
        status = ocsp.OCSPCertStatus.GOOD
        revoked_at = None
        if serial in self.revoked:
            status, revoked_at = ocsp.OCSPCertStatus.REVOKED, NOW - timedelta(hours=2)
        if serial in self.unknown:
            status = ocsp.OCSPCertStatus.UNKNOWN
        signer = self.root if self.mode != "wrong_key" else build_root(now=NOW)
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        if self.mode == "wrong_nonce":
            nonce = bytes(16)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=self.subject_certificate,
                issuer=self.root.certificate,
                algorithm=hashes.SHA256(),
                cert_status=status,
                this_update=NOW - timedelta(minutes=1),
                next_update=NOW + timedelta(hours=1),
                revocation_time=revoked_at,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
            .add_extension(x509.OCSPNonce(nonce), critical=False)
        )
        return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    subject_certificate: x509.Certificate


@pytest.fixture
def responder(root: DevRoot, leaf: x509.Certificate) -> Iterator[Responder]:
    server = Responder(root)
    server.subject_certificate = leaf
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


def ocsp_options(url: str) -> ValidationOptions:
    return ValidationOptions(revocation=OcspResponder(url, timeout=2.0))


def test_ocsp_good(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))

    assert responder.requests == 1


def test_ocsp_revoked(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    responder.revoked.add(leaf.serial_number)

    with pytest.raises(CertificateRevokedError):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_unknown(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    responder.unknown.add(leaf.serial_number)

    with pytest.raises(RevocationCheckError, match="does not know"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_wrong_signer(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    responder.mode = "wrong_key"

    with pytest.raises(RevocationCheckError, match="not signed"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_wrong_nonce(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    responder.mode = "wrong_nonce"

    with pytest.raises(RevocationCheckError, match="nonce"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_try_later(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    responder.mode = "try_later"

    with pytest.raises(RevocationCheckError, match="TRY_LATER"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_expired_response(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    with pytest.raises(RevocationCheckError, match="expired"):
        OcspResponder(responder.url, timeout=2.0).check(leaf, root.certificate, NOW + timedelta(hours=2))


def test_ocsp_unreachable(root: DevRoot, leaf: x509.Certificate) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ocsp"

    with pytest.raises(RevocationCheckError, match="failed"):
        verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(url))


def test_ocsp_delegated_responder(responder: Responder, root: DevRoot, leaf: x509.Certificate) -> None:
    delegate_key = generate_rsa_key()
    delegate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCSP responder")]))
        .issuer_name(root.certificate.subject)
        .public_key(delegate_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .sign(root.key, hashes.SHA256())
    )

    def answer(request: ocsp.OCSPRequest) -> bytes:
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(leaf, root.certificate, hashes.SHA256(), ocsp.OCSPCertStatus.GOOD, NOW, NOW + timedelta(hours=1), None, None)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, delegate)
            .certificates([delegate])
            .add_extension(x509.OCSPNonce(nonce), critical=False)
        )
        return builder.sign(delegate_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    responder.answer = answer  # type: ignore[method-assign]

    verify_auth_certificate(der(leaf), TrustStore([root.certificate]), at=NOW, options=ocsp_options(responder.url))


def test_ocsp_url_scheme_checked() -> None:
    with pytest.raises(ValueError):
        OcspResponder("ldap://127.0.0.1/")


def test_revocation_from_config(tmp_path: Path) -> None:
    assert revocation_from_config() is None
    assert isinstance(revocation_from_config(crl_path=tmp_path / "a.crl"), CrlFile)
    assert isinstance(revocation_from_config(crl_path=tmp_path / "a.crl", ocsp_url="http://127.0.0.1:1/"), OcspResponder)


def test_jlis_roots_count_as_production(shared_data: Path) -> None:
    from mynacard.certs import _check_production_root

    store = TrustStore.from_folder(shared_data / "jpki")

    assert len(store) == 4
    for jlis_root in store.roots:
        _check_production_root(jlis_root)
