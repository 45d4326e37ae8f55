"""Property-based fuzzing (hypothesis) of the TLV, card-face record and certificate parsers.

Every parser reads bytes that come from a card, so on any input it must either return
a result or raise the card core's own error (CardDataError, a CardFaceError or a
CertificateError), never an IndexError, a UnicodeError or another surprise.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mynacard import facedata, tlv
from mynacard.certs import TrustStore, load_certificate, verify_auth_certificate
from mynacard.devpki import DevRoot, IssuedCard, build_card_face_issuer, generate_rsa_key
from mynacard.errors import CardDataError, CardFaceError, CertificateError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SIGNER = generate_rsa_key()
ISSUER = build_card_face_issuer()

primitive_tags = st.one_of(
    st.integers(0x80, 0x9E).filter(lambda tag: tag & 0x1F != 0x1F),
    st.integers(0x01, 0x7F).map(lambda low: 0xDF00 | low),
    st.integers(0x01, 0x7F).map(lambda low: 0x5F00 | low),
)
values = st.binary(max_size=700)


def mutate(data: bytes, positions: list[int], flips: list[int]) -> bytes:
    mutated = bytearray(data)
    for position, flip in zip(positions, flips):
        mutated[position % len(mutated)] ^= flip or 0x01
    return bytes(mutated)


# TLV ---------------------------------------------------------------------------------


@FUZZ
@given(tag=primitive_tags, value=values)
def test_tlv_roundtrip(tag: int, value: bytes) -> None:
    encoded = tlv.encode(tag, value)
    item, end = tlv.parse_one(encoded + b"\xff\xff")

    assert item.tag == tag
    assert item.value == value
    assert item.encoded == encoded
    assert end == len(encoded)


@FUZZ
@given(items=st.lists(st.tuples(primitive_tags, st.binary(max_size=80)), max_size=8))
def test_tlv_sequence_roundtrip(items: list[tuple[int, bytes]]) -> None:
    encoded = b"".join(tlv.encode(tag, value) for tag, value in items)

    assert [(item.tag, item.value) for item in tlv.parse_all(encoded)] == items


@FUZZ
@given(data=st.binary(max_size=300))
def test_tlv_parse_one_garbage(data: bytes) -> None:
    try:
        item, end = tlv.parse_one(data)
    except CardDataError:
        return
    assert data[:end] == item.encoded
    assert len(item.value) <= end


@FUZZ
@given(data=st.binary(max_size=300))
def test_tlv_parse_all_garbage(data: bytes) -> None:
    try:
        items = tlv.parse_all(data)
    except CardDataError:
        return
    assert b"".join(item.encoded for item in items) == data


@FUZZ
@given(data=st.binary(min_size=0, max_size=8))
def test_tlv_total_length_garbage(data: bytes) -> None:
    try:
        total = tlv.total_length(data)
    except CardDataError:
        return
    assert total >= 2


@FUZZ
@given(length=st.integers(0, 0xFFFFFF))
def test_tlv_length_roundtrip(length: int) -> None:
    encoded = b"\x04" + tlv.encode_length(length)

    assert tlv.total_length(encoded) == len(encoded) + length


# Card-face records ------------------------------------------------------------------------


RECORD_PARSERS = [
    facedata.parse_cv_certificate,
    lambda data: facedata.parse_basic_four(data)[0],
    facedata.parse_card_face,
    facedata.decode_public_key,
    lambda data: facedata.verify_text_card_key(data, SIGNER.public_key()),
    lambda data: facedata.verify_card_face(data, SIGNER.public_key()),
]


@pytest.mark.parametrize("parse", RECORD_PARSERS)
@FUZZ
@given(data=st.binary(max_size=400))
def test_record_parsers_garbage(parse, data: bytes) -> None:
    try:
        parse(data)
    except (CardDataError, CardFaceError):
        pass


@FUZZ
@given(positions=st.lists(st.integers(0, 10_000), min_size=1, max_size=4), flips=st.lists(st.integers(0, 255), min_size=4, max_size=4))
def test_cv_certificate_mutations(positions: list[int], flips: list[int]) -> None:
    data = mutate(ISSUER.cv_certificate, positions, flips)
    try:
        facedata.verify_cv_certificate(facedata.parse_cv_certificate(data), ISSUER.pinned_keys())
    except (CardDataError, CardFaceError):
        return
    assert data == ISSUER.cv_certificate


BASIC_FOUR = facedata.build_basic_four(
    facedata.BasicFourInfo("黒桐\u3000幹也", "東京都清瀬市観布子南１２－７－２０２", datetime(1980, 2, 17).date(), "1")
)
INTEGRITY = facedata.build_text_integrity(b"\xff\x10\x0c" + b"0" * 12 + b"\xff\xff", BASIC_FOUR, SIGNER)


@FUZZ
@given(positions=st.lists(st.integers(0, 10_000), min_size=1, max_size=3), flips=st.lists(st.integers(1, 255), min_size=3, max_size=3))
def test_basic_four_mutations_detected(positions: list[int], flips: list[int]) -> None:
    data = mutate(BASIC_FOUR, positions, flips)
    try:
        _info, record = facedata.parse_basic_four(data)
        facedata.verify_text_integrity(INTEGRITY, record, SIGNER.public_key())
    except (CardDataError, CardFaceError):
        return
    # Only a change inside the unsigned DF21 offset table may pass.
    offsets_end = 3 + 2 + 1 + 8
    changed = [index for index, (old, new) in enumerate(zip(BASIC_FOUR, data)) if old != new]
    assert all(index < offsets_end for index in changed)


# X.509 ----------------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=600))
def test_load_certificate_garbage(data: bytes) -> None:
    try:
        load_certificate(data)
    except CertificateError:
        pass


@FUZZ
@given(positions=st.lists(st.integers(0, 10_000), min_size=1, max_size=3), flips=st.lists(st.integers(1, 255), min_size=3, max_size=3))
def test_verify_certificate_mutations(
    dev_root: DevRoot, issued_template: IssuedCard, positions: list[int], flips: list[int]
) -> None:
    data = mutate(issued_template.certificate_der, positions, flips)
    trust = TrustStore([dev_root.certificate])
    try:
        verify_auth_certificate(data, trust, at=datetime.now(timezone.utc))
    except CertificateError:
        return
    assert data == issued_template.certificate_der
