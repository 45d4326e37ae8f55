"""BER-TLV parsing and encoding for the card-face records.

The 券面 APs store each record as one BER-TLV with private-class tags written in long
form (``FF 20`` constructed tag 32, ``DF 21`` primitive tag 33, and so on), lengths in
the forms ``LL``, ``81 LL`` and ``82 HH LL``, and filler bytes (``FF`` or ``00``)
after the record. ``FF 10`` is written as constructed even where its content is
primitive, so records are parsed by tag bytes, not by an ASN.1 schema. CV
certificates use the two-byte application tags ``7F 21``, ``5F 4E`` and ``5F 37``.

Parsing errors raise CardDataError, because every input comes from a card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mynacard.errors import CardDataError

MAX_TAG_BYTES = 3
MAX_LENGTH_BYTES = 3


@dataclass(frozen=True)
class Tlv:
    """One decoded TLV. ``tag`` is the tag bytes as a big-endian integer (``0xDF21``)
    and ``encoded`` the complete tag, length and value as read, which signatures cover.
    """

    tag: int
    value: bytes
    encoded: bytes

    def children(self) -> list[Tlv]:
        """Parse the value as a sequence of TLVs that fills it exactly."""
        return parse_all(self.value)


def _parse_tag(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise CardDataError(f"TLV tag missing at offset {offset}")
    first = data[offset]
    end = offset + 1
    if first & 0x1F == 0x1F:
        while True:
            if end >= len(data):
                raise CardDataError(f"TLV tag truncated at offset {offset}")
            byte = data[end]
            end += 1
            if end - offset > MAX_TAG_BYTES:
                raise CardDataError(f"TLV tag longer than {MAX_TAG_BYTES} bytes at offset {offset}")
            if not byte & 0x80:
                break
    return int.from_bytes(data[offset:end], "big"), end


def _parse_length(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise CardDataError(f"TLV length missing at offset {offset}")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > MAX_LENGTH_BYTES:
        raise CardDataError(f"unsupported TLV length byte {first:02X} at offset {offset}")
    end = offset + 1 + count
    if end > len(data):
        raise CardDataError(f"TLV length truncated at offset {offset}")
    return int.from_bytes(data[offset + 1 : end], "big"), end


def parse_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """Parse the TLV at ``offset`` and return it with the offset just after it."""
    tag, after_tag = _parse_tag(data, offset)
    length, value_start = _parse_length(data, after_tag)
    value_end = value_start + length
    if value_end > len(data):
        raise CardDataError(
            f"TLV {tag:X} at offset {offset} announces {length} bytes but only {len(data) - value_start} follow"
        )
    return Tlv(tag, bytes(data[value_start:value_end]), bytes(data[offset:value_end])), value_end


def parse_all(data: bytes) -> list[Tlv]:
    """Parse a sequence of TLVs that must fill ``data`` exactly."""
    items = []
    offset = 0
    while offset < len(data):
        item, offset = parse_one(data, offset)
        items.append(item)
    return items


def parse_record(data: bytes, expected_tag: int) -> Tlv:
    """Parse the record TLV at the start of a file, ignoring the filler after it."""
    record, _end = parse_one(data)
    if record.tag != expected_tag:
        raise CardDataError(f"expected record tag {expected_tag:X}, got {record.tag:X}")
    return record


def header_length(data: bytes) -> int:
    """Return the length of tag and length bytes of the TLV at the start of ``data``."""
    _tag, after_tag = _parse_tag(data, 0)
    _length, value_start = _parse_length(data, after_tag)
    return value_start


def total_length(header: bytes) -> int:
    """Return the full encoded length of the TLV whose header starts ``header``."""
    _tag, after_tag = _parse_tag(header, 0)
    length, value_start = _parse_length(header, after_tag)
    return value_start + length


def children_by_tag(record: Tlv, required: Iterable[int] = ()) -> dict[int, Tlv]:
    """Return the children of a record by tag; raise CardDataError for a duplicate or a missing required tag."""
    children: dict[int, Tlv] = {}
    for child in record.children():
        if child.tag in children:
            raise CardDataError(f"record {record.tag:X} repeats tag {child.tag:X}")
        children[child.tag] = child
    missing = [f"{tag:X}" for tag in required if tag not in children]
    if missing:
        raise CardDataError(f"record {record.tag:X} lacks tags {', '.join(missing)}")
    return children


def encode_length(length: int) -> bytes:
    """Encode a BER length in the shortest form."""
    if length < 0:
        raise ValueError(f"length must not be negative, got {length}")
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise ValueError(f"length {length} needs more than {MAX_LENGTH_BYTES} bytes")
    return bytes((0x80 | len(body),)) + body


def encode(tag: int, value: bytes) -> bytes:
    """Encode one TLV; ``tag`` is the tag bytes as a big-endian integer."""
    tag_bytes = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    return tag_bytes + encode_length(len(value)) + value
