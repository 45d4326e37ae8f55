"""TOTP against the RFC 6238 appendix B test vectors, plus replay and drift rules."""

from __future__ import annotations

import pytest

from hospital_portal import totp

# RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the key length of each hash.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}

RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix_time", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_totp_rfc6238_vectors(unix_time: int, sha1: str, sha256: str, sha512: str) -> None:
    assert totp.totp(SEEDS["sha1"], unix_time, digits=8, digest="sha1") == sha1
    assert totp.totp(SEEDS["sha256"], unix_time, digits=8, digest="sha256") == sha256
    assert totp.totp(SEEDS["sha512"], unix_time, digits=8, digest="sha512") == sha512


def test_hotp_rfc4226_vectors() -> None:
    # RFC 4226 appendix D, secret "12345678901234567890", counters 0..9.
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

    assert [totp.hotp(SEEDS["sha1"], counter) for counter in range(10)] == expected


def test_verify_accepts_current_code() -> None:
    secret = totp.new_secret()
    code = totp.totp(totp.decode_secret(secret), 1_700_000_000)

    assert totp.verify(secret, code, unix_time=1_700_000_000) == totp.time_step(1_700_000_000)


def test_verify_accepts_one_step_drift() -> None:
    secret = totp.new_secret()
    code = totp.totp(totp.decode_secret(secret), 1_700_000_000 - 30)

    assert totp.verify(secret, code, unix_time=1_700_000_000) is not None


def test_verify_rejects_old_code() -> None:
    secret = totp.new_secret()
    code = totp.totp(totp.decode_secret(secret), 1_700_000_000 - 120)

    assert totp.verify(secret, code, unix_time=1_700_000_000) is None


def test_verify_rejects_replay() -> None:
    secret = totp.new_secret()
    code = totp.totp(totp.decode_secret(secret), 1_700_000_000)
    step = totp.verify(secret, code, unix_time=1_700_000_000)

    assert step is not None
    assert totp.verify(secret, code, unix_time=1_700_000_000, last_used_step=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_verify_rejects_malformed(code: str) -> None:
    assert totp.verify(totp.new_secret(), code, unix_time=1_700_000_000) is None


def test_secret_is_160_bits() -> None:
    assert len(totp.decode_secret(totp.new_secret())) == 20


def test_provisioning_uri_fields() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "dr.sato", "港中央病院")

    assert uri.startswith("otpauth://totp/")
    assert "secret=JBSWY3DPEHPK3PXP" in uri
    assert "period=30" in uri


def test_verify_accepts_fullwidth_digits() -> None:
    secret = totp.new_secret()
    code = totp.totp(totp.decode_secret(secret), 1_700_000_000)
    fullwidth = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    assert totp.verify(secret, fullwidth, unix_time=1_700_000_000) is not None


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "۱۲۳۴۵۶", "12345６7"])
def test_verify_rejects_non_ascii_digits(code: str) -> None:
    assert totp.verify(totp.new_secret(), code, unix_time=1_700_000_000) is None
