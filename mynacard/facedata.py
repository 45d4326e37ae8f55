"""Card-face records (券面事項) of the text AP and the visual AP, and their J-LIS signatures.

This module owns the record layouts, their parsing, the checks that tell forged,
altered and cloned data apart, the pinned CA keys that anchor those checks, and the
builders the development PKI uses to write the same records. It does no card I/O;
``mynacard.faceaps`` reads the records and calls the checks.

Trust chain (all signatures RSA-2048 PKCS#1 v1.5 with SHA-256):

1. A J-LIS CA key, pinned in the trust-store folder and never read from the card,
   signs the AP's card-verifiable (CV) certificate in EF 0004:
   ``7F21 { 5F4E (issuer key ID 16 B, subject key ID 16 B, 90 e, 91 n), 5F37 sig }``,
   where the signature covers the 5F4E value.
2. The certified subject key (the issuing municipality's) signs the records:
   text-AP EF 0003 over ``DF31 || DF32`` (hash of the number file, hash of the
   基本4情報 from DF22 to the end), text-AP EF 0007 over the DF51 card key, and the
   visual-AP card face over one DigestInfo holding three SHA-256 hashes:
   ``DF22||DF23||DF24``, ``DF25||DF26`` and ``DF27``. DF29 (expiry) and DF2A
   (security-code image) come after the signature and are not covered.
3. The card's own key, whose public half sits inside the signed records (DF24 and
   DF51), signs a fresh challenge (internal authentication).

A record that no pinned key certifies is forged, a record whose signature does not
match its data is altered, and a chip that cannot sign with the key inside its signed
record is a clone. Layouts follow soltia48/myna-card and AokiApp/jsapdu, checked
against a JPKI test card by the former.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard import tlv
from mynacard.errors import CardClonedError, CardDataError, CardFaceAlteredError, CardFaceForgedError

logger = logging.getLogger(__name__)

# Record and field tags.
TAG_CV_CERTIFICATE = 0x7F21
TAG_CV_BODY = 0x5F4E
TAG_CV_SIGNATURE = 0x5F37
TAG_PUBLIC_EXPONENT = 0x90
TAG_MODULUS = 0x91

TAG_TEXT_BASIC_FOUR = 0xFF20
TAG_TEXT_OFFSETS = 0xDF21
TAG_TEXT_NAME = 0xDF22
TAG_TEXT_ADDRESS = 0xDF23
TAG_TEXT_BIRTH_DATE = 0xDF24
TAG_TEXT_SEX = 0xDF25
TAG_TEXT_INTEGRITY = 0xFF30
TAG_TEXT_NUMBER_DIGEST = 0xDF31
TAG_TEXT_BASIC_FOUR_DIGEST = 0xDF32
TAG_TEXT_INTEGRITY_SIGNATURE = 0xDF33
TAG_TEXT_CARD_KEY = 0xFF50
TAG_TEXT_CARD_KEY_VALUE = 0xDF51
TAG_TEXT_CARD_KEY_SIGNATURE = 0xDF52
TAG_TEXT_AP_INFO = 0xFF40

TAG_FACE = 0xFF20
TAG_FACE_OFFSETS = 0xDF21
TAG_FACE_BIRTH_DATE = 0xDF22
TAG_FACE_SEX = 0xDF23
TAG_FACE_CARD_KEY = 0xDF24
TAG_FACE_NAME_IMAGE = 0xDF25
TAG_FACE_ADDRESS_IMAGE = 0xDF26
TAG_FACE_PHOTO = 0xDF27
TAG_FACE_SIGNATURE = 0xDF28
TAG_FACE_EXPIRY = 0xDF29
TAG_FACE_SECURITY_CODE_IMAGE = 0xDF2A

KEY_ID_LENGTH = 16
RSA_SIGNATURE_LENGTH = 256
CARD_CA_KEYS_FILE = "card_ca_keys.json"

SHA256_OID_PREFIX = bytes.fromhex("300D06096086480165030402010500")
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")

_TEXT_FIELDS = (TAG_TEXT_NAME, TAG_TEXT_ADDRESS, TAG_TEXT_BIRTH_DATE, TAG_TEXT_SEX)
_FACE_FIELDS = (
    TAG_FACE_BIRTH_DATE,
    TAG_FACE_SEX,
    TAG_FACE_CARD_KEY,
    TAG_FACE_NAME_IMAGE,
    TAG_FACE_ADDRESS_IMAGE,
    TAG_FACE_PHOTO,
    TAG_FACE_SIGNATURE,
    TAG_FACE_EXPIRY,
    TAG_FACE_SECURITY_CODE_IMAGE,
)
_FACE_GROUPS = (
    (TAG_FACE_BIRTH_DATE, TAG_FACE_SEX, TAG_FACE_CARD_KEY),
    (TAG_FACE_NAME_IMAGE, TAG_FACE_ADDRESS_IMAGE),
    (TAG_FACE_PHOTO,),
)


# RSA helpers -------------------------------------------------------------------


def sha256_digest_info(digest: bytes) -> bytes:
    """Wrap a 32-byte SHA-256 hash in a DER DigestInfo."""
    if len(digest) != 32:
        raise ValueError(f"a SHA-256 digest has 32 bytes, got {len(digest)}")
    return SHA256_DIGEST_INFO_PREFIX + digest


def multi_digest_info(digests: list[bytes]) -> bytes:
    """Return a SHA-256 DigestInfo whose OCTET STRING contains several hashes, as the card-face signature uses."""
    octets = b"".join(digests)
    octet_string = tlv.encode(0x04, octets)
    return tlv.encode(0x30, SHA256_OID_PREFIX + octet_string)


def sign_digest_info(key: rsa.RSAPrivateKey, digest_info: bytes) -> bytes:
    """Sign ``digest_info`` as given: add PKCS#1 v1.5 type-1 padding and apply the private key.

    This is what the card does with COMPUTE DIGITAL SIGNATURE. cryptography's ``sign``
    would build the DigestInfo itself, so the RSA operation is done on the padded block.
    """
    size = (key.key_size + 7) // 8
    if len(digest_info) > size - 11:
        raise ValueError(f"DigestInfo of {len(digest_info)} bytes does not fit a {key.key_size}-bit key")
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(digest_info)) + b"\x00" + digest_info
    numbers = key.private_numbers()
    signature = pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n)
    return signature.to_bytes(size, "big")


def signature_matches(public_key: rsa.RSAPublicKey, signature: bytes, digest_info: bytes) -> bool:
    """Return whether ``signature`` is a PKCS#1 v1.5 signature of exactly ``digest_info``."""
    try:
        recovered = public_key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        return False
    return recovered == digest_info


def encode_public_key(public_key: rsa.RSAPublicKey) -> bytes:
    """Encode an RSA public key as the card does: ``90 e`` followed by ``91 n``."""
    numbers = public_key.public_numbers()
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    modulus = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    return tlv.encode(TAG_PUBLIC_EXPONENT, exponent) + tlv.encode(TAG_MODULUS, modulus)


def decode_public_key(data: bytes) -> rsa.RSAPublicKey:
    """Decode ``90 e 91 n`` into an RSA public key; raise CardDataError when malformed."""
    fields = {item.tag: item.value for item in tlv.parse_all(data)}
    if TAG_PUBLIC_EXPONENT not in fields or TAG_MODULUS not in fields:
        raise CardDataError("public key lacks exponent (90) or modulus (91)")
    exponent = int.from_bytes(fields[TAG_PUBLIC_EXPONENT], "big")
    modulus = int.from_bytes(fields[TAG_MODULUS], "big")
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as exc:
        raise CardDataError(f"invalid RSA public key on the card: {exc}") from exc


def key_id(text: str) -> bytes:
    """Return a 16-byte key ID from its printable form, padded with spaces.

    NOTE: the public sources name key IDs such as "5000023" but do not show how the
    16 bytes are padded; space padding is an assumption of the development PKI.
    """
    raw = text.encode("ascii")
    if len(raw) > KEY_ID_LENGTH:
        raise ValueError(f"key ID {text!r} is longer than {KEY_ID_LENGTH} bytes")
    return raw.ljust(KEY_ID_LENGTH, b" ")


def _format_key_id(raw: bytes) -> str:
    text = raw.rstrip(b" \x00")
    return text.decode("ascii") if text.isascii() and text.decode("ascii").isprintable() else raw.hex().upper()


# Pinned CA keys -----------------------------------------------------------------


class CardCaKeys:
    """J-LIS CA public keys that may sign the card-face APs' CV certificates, by key ID.

    Stored in ``card_ca_keys.json`` in the trust-store folder as
    ``{"keys": [{"key_id": "<32 hex digits>", "label": ..., "exponent": 65537,
    "modulus": "<hex>"}]}``. ``mynacard.certs.TrustStore`` ignores the file.
    """

    def __init__(self, keys: dict[bytes, rsa.RSAPublicKey], labels: dict[bytes, str] | None = None) -> None:
        self._keys = dict(keys)
        self._labels = dict(labels or {})

    @classmethod
    def from_folder(cls, folder: str | Path) -> CardCaKeys:
        """Load the pinned keys of a trust-store folder; raise FileNotFoundError when the file is missing."""
        path = Path(folder) / CARD_CA_KEYS_FILE
        if not path.exists():
            raise FileNotFoundError(f"pinned card-face CA keys not found: {path}")
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
            keys = {}
            labels = {}
            for entry in entries:
                identifier = bytes.fromhex(entry["key_id"])
                numbers = rsa.RSAPublicNumbers(int(entry["exponent"]), int(entry["modulus"], 16))
                keys[identifier] = numbers.public_key()
                labels[identifier] = str(entry.get("label", ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid pinned CA key file {path}: {exc!r}") from exc
        logger.info("loaded %s pinned card-face CA keys from %s", len(keys), path)
        return cls(keys, labels)

    def to_json(self) -> str:
        """Serialise the keys in the format ``from_folder`` reads."""
        entries = []
        for identifier, public_key in self._keys.items():
            numbers = public_key.public_numbers()
            entries.append(
                {
                    "key_id": identifier.hex().upper(),
                    "label": self._labels.get(identifier, ""),
                    "exponent": numbers.e,
                    "modulus": f"{numbers.n:X}",
                }
            )
        return json.dumps({"keys": entries}, indent=2) + "\n"

    def get(self, identifier: bytes) -> rsa.RSAPublicKey | None:
        """Return the pinned key with this 16-byte key ID, or None."""
        return self._keys.get(identifier)

    def __len__(self) -> int:
        return len(self._keys)


# CV certificate -------------------------------------------------------------------


@dataclass(frozen=True)
class CvCertificate:
    """A card-verifiable certificate (7F21) from EF 0004 of a card-face AP."""

    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: rsa.RSAPublicKey
    body: bytes
    signature: bytes

    @property
    def issuer(self) -> str:
        """The issuer key ID in printable form."""
        return _format_key_id(self.issuer_key_id)

    @property
    def subject(self) -> str:
        """The subject key ID in printable form."""
        return _format_key_id(self.subject_key_id)


def parse_cv_certificate(data: bytes) -> CvCertificate:
    """Parse a 7F21 CV certificate (filler after it is ignored)."""
    record = tlv.parse_record(data, TAG_CV_CERTIFICATE)
    fields = tlv.children_by_tag(record, (TAG_CV_BODY, TAG_CV_SIGNATURE))
    body = fields[TAG_CV_BODY].value
    if len(body) < 2 * KEY_ID_LENGTH:
        raise CardDataError(f"CV certificate body of {len(body)} bytes is too short")
    return CvCertificate(
        issuer_key_id=body[:KEY_ID_LENGTH],
        subject_key_id=body[KEY_ID_LENGTH : 2 * KEY_ID_LENGTH],
        public_key=decode_public_key(body[2 * KEY_ID_LENGTH :]),
        body=body,
        signature=fields[TAG_CV_SIGNATURE].value,
    )


def verify_cv_certificate(certificate: CvCertificate, ca_keys: CardCaKeys) -> rsa.RSAPublicKey:
    """Check the CV certificate against the pinned CA key its issuer key ID names, and return the subject key.

    Raises CardFaceForgedError when no pinned key has that ID or the signature fails:
    either way the records under it were not certified by J-LIS.
    """
    ca_key = ca_keys.get(certificate.issuer_key_id)
    if ca_key is None:
        raise CardFaceForgedError(f"CV certificate issuer key {certificate.issuer} is not a pinned CA key")
    expected = sha256_digest_info(hashlib.sha256(certificate.body).digest())
    if not signature_matches(ca_key, certificate.signature, expected):
        raise CardFaceForgedError(
            f"CV certificate {certificate.subject} does not verify under pinned CA key {certificate.issuer}"
        )
    return certificate.public_key


def build_cv_certificate(
    ca_key: rsa.RSAPrivateKey, issuer_key_id: bytes, subject_key: rsa.RSAPublicKey, subject_key_id: bytes
) -> bytes:
    """Build and sign a 7F21 CV certificate (development PKI)."""
    body = issuer_key_id + subject_key_id + encode_public_key(subject_key)
    signature = sign_digest_info(ca_key, sha256_digest_info(hashlib.sha256(body).digest()))
    return tlv.encode(
        TAG_CV_CERTIFICATE, tlv.encode(TAG_CV_BODY, body) + tlv.encode(TAG_CV_SIGNATURE, signature)
    )


# Offset tables ---------------------------------------------------------------------


def _record_with_offsets(record_tag: int, offsets_tag: int, fields: list[bytes]) -> bytes:
    """Encode a record whose first child is a table of u16 offsets (from the file start) of the other children."""
    table_length = 2 * len(fields)
    content_length = len(tlv.encode(offsets_tag, bytes(table_length))) + sum(len(field) for field in fields)
    header = len(tlv.encode(record_tag, bytes(content_length))) - content_length
    position = header + 2 + len(tlv.encode_length(table_length)) + table_length
    offsets = bytearray()
    for field in fields:
        offsets += position.to_bytes(2, "big")
        position += len(field)
    return tlv.encode(record_tag, tlv.encode(offsets_tag, bytes(offsets)) + b"".join(fields))


def _date_field(value: bytes, what: str) -> date:
    text = value.decode("ascii", errors="replace")
    if len(text) != 8 or not text.isdigit():
        raise CardDataError(f"{what} {text!r} is not a YYYYMMDD date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise CardDataError(f"{what} {text!r} is not a valid date") from exc


def _date_bytes(day: date) -> bytes:
    return day.strftime("%Y%m%d").encode("ascii")


# Text AP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BasicFourInfo:
    """基本4情報 from the text AP: name (family and given name separated by U+3000),
    address, birth date (Gregorian) and sex code (JIS X 0303 or the certificate's 1/2/3).
    """

    name: str
    address: str
    birth_date: date
    sex: str


def parse_basic_four(data: bytes) -> tuple[BasicFourInfo, tlv.Tlv]:
    """Parse text-AP EF 0002 and return the 基本4情報 with the record TLV."""
    record = tlv.parse_record(data, TAG_TEXT_BASIC_FOUR)
    fields = tlv.children_by_tag(record, _TEXT_FIELDS)
    try:
        info = BasicFourInfo(
            name=fields[TAG_TEXT_NAME].value.decode("utf-8"),
            address=fields[TAG_TEXT_ADDRESS].value.decode("utf-8"),
            birth_date=_date_field(fields[TAG_TEXT_BIRTH_DATE].value, "birth date"),
            sex=fields[TAG_TEXT_SEX].value.decode("ascii"),
        )
    except UnicodeDecodeError as exc:
        raise CardDataError(f"基本4情報 field is not valid text: {exc}") from exc
    return info, record


def build_basic_four(info: BasicFourInfo) -> bytes:
    """Build text-AP EF 0002 content (without filler)."""
    fields = [
        tlv.encode(TAG_TEXT_NAME, info.name.encode("utf-8")),
        tlv.encode(TAG_TEXT_ADDRESS, info.address.encode("utf-8")),
        tlv.encode(TAG_TEXT_BIRTH_DATE, _date_bytes(info.birth_date)),
        tlv.encode(TAG_TEXT_SEX, info.sex.encode("ascii")),
    ]
    return _record_with_offsets(TAG_TEXT_BASIC_FOUR, TAG_TEXT_OFFSETS, fields)


def _basic_four_signed_part(record: tlv.Tlv) -> bytes:
    """Return the record value from DF22 to the end: the offset table is not covered by the digest."""
    offsets, after = tlv.parse_one(record.value)
    if offsets.tag != TAG_TEXT_OFFSETS:
        raise CardDataError(f"基本4情報 record starts with tag {offsets.tag:X}, expected DF21")
    return record.value[after:]


def build_text_integrity(number_file: bytes, basic_four: bytes, signer: rsa.RSAPrivateKey) -> bytes:
    """Build text-AP EF 0003: hashes of EF 0001 (all physical bytes) and of the 基本4情報, and their signature."""
    record = tlv.parse_record(basic_four, TAG_TEXT_BASIC_FOUR)
    signed = tlv.encode(TAG_TEXT_NUMBER_DIGEST, hashlib.sha256(number_file).digest()) + tlv.encode(
        TAG_TEXT_BASIC_FOUR_DIGEST, hashlib.sha256(_basic_four_signed_part(record)).digest()
    )
    signature = sign_digest_info(signer, sha256_digest_info(hashlib.sha256(signed).digest()))
    return tlv.encode(TAG_TEXT_INTEGRITY, signed + tlv.encode(TAG_TEXT_INTEGRITY_SIGNATURE, signature))


def verify_text_integrity(integrity: bytes, basic_four_record: tlv.Tlv, signer: rsa.RSAPublicKey) -> None:
    """Check the EF 0003 signature and that its DF32 hash matches the 基本4情報 read.

    The DF31 hash of the number file is covered by the signature but not recomputed,
    because the number file is never read. Raises CardFaceAlteredError on a mismatch.
    """
    record = tlv.parse_record(integrity, TAG_TEXT_INTEGRITY)
    fields = tlv.children_by_tag(
        record, (TAG_TEXT_NUMBER_DIGEST, TAG_TEXT_BASIC_FOUR_DIGEST, TAG_TEXT_INTEGRITY_SIGNATURE)
    )
    signed = fields[TAG_TEXT_NUMBER_DIGEST].encoded + fields[TAG_TEXT_BASIC_FOUR_DIGEST].encoded
    expected = sha256_digest_info(hashlib.sha256(signed).digest())
    if not signature_matches(signer, fields[TAG_TEXT_INTEGRITY_SIGNATURE].value, expected):
        raise CardFaceAlteredError("text-AP integrity record (EF 0003) does not match its signature")
    actual = hashlib.sha256(_basic_four_signed_part(basic_four_record)).digest()
    if actual != fields[TAG_TEXT_BASIC_FOUR_DIGEST].value:
        raise CardFaceAlteredError("基本4情報 (EF 0002) does not match the signed hash in EF 0003")


def build_text_card_key(card_key: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey) -> bytes:
    """Build text-AP EF 0007: the card's internal-authentication public key and its signature."""
    key_field = tlv.encode(TAG_TEXT_CARD_KEY_VALUE, encode_public_key(card_key))
    signature = sign_digest_info(signer, sha256_digest_info(hashlib.sha256(key_field).digest()))
    return tlv.encode(TAG_TEXT_CARD_KEY, key_field + tlv.encode(TAG_TEXT_CARD_KEY_SIGNATURE, signature))


def verify_text_card_key(data: bytes, signer: rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Check the EF 0007 signature and return the card key it certifies.

    NOTE: the sources say DF52 signs DF51 without saying whether the tag and length
    are included; this follows the other records, whose signatures cover whole TLVs.
    """
    record = tlv.parse_record(data, TAG_TEXT_CARD_KEY)
    fields = tlv.children_by_tag(record, (TAG_TEXT_CARD_KEY_VALUE, TAG_TEXT_CARD_KEY_SIGNATURE))
    expected = sha256_digest_info(hashlib.sha256(fields[TAG_TEXT_CARD_KEY_VALUE].encoded).digest())
    if not signature_matches(signer, fields[TAG_TEXT_CARD_KEY_SIGNATURE].value, expected):
        raise CardFaceAlteredError("text-AP card key record (EF 0007) does not match its signature")
    return decode_public_key(fields[TAG_TEXT_CARD_KEY_VALUE].value)


def build_ap_info(record_tag: int, first_tag: int, ap_info: bytes, signer_key_id: bytes) -> bytes:
    """Build an AP basic-info record (text EF 0005 ``FF40``, visual EF 0003 ``FF30``)."""
    return tlv.encode(record_tag, tlv.encode(first_tag, ap_info) + tlv.encode(first_tag + 1, signer_key_id))


# Visual AP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CardFace:
    """The card face from the visual AP.

    Images are as stored: PNG for the name, address and security code, JPEG 2000 (JP2)
    for the photo. ``expiry`` is not covered by the signature, so it is only as good as
    the 照合番号B that the card accepted.
    """

    birth_date: date
    sex: str
    name_image: bytes
    address_image: bytes
    photo_jp2: bytes
    expiry: date
    security_code_image: bytes
    card_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class _ParsedFace:
    face: CardFace
    fields: dict[int, tlv.Tlv]


def parse_card_face(data: bytes) -> _ParsedFace:
    """Parse visual-AP EF 0002."""
    record = tlv.parse_record(data, TAG_FACE)
    fields = tlv.children_by_tag(record, _FACE_FIELDS)
    face = CardFace(
        birth_date=_date_field(fields[TAG_FACE_BIRTH_DATE].value, "birth date"),
        sex=fields[TAG_FACE_SEX].value.decode("ascii", errors="replace"),
        name_image=fields[TAG_FACE_NAME_IMAGE].value,
        address_image=fields[TAG_FACE_ADDRESS_IMAGE].value,
        photo_jp2=fields[TAG_FACE_PHOTO].value,
        expiry=_date_field(fields[TAG_FACE_EXPIRY].value, "expiry date"),
        security_code_image=fields[TAG_FACE_SECURITY_CODE_IMAGE].value,
        card_key=decode_public_key(fields[TAG_FACE_CARD_KEY].value),
    )
    return _ParsedFace(face, fields)


def _face_digest_info(fields: dict[int, tlv.Tlv]) -> bytes:
    digests = [hashlib.sha256(b"".join(fields[tag].encoded for tag in group)).digest() for group in _FACE_GROUPS]
    return multi_digest_info(digests)


def verify_card_face(data: bytes, signer: rsa.RSAPublicKey) -> CardFace:
    """Parse visual-AP EF 0002 and check its DF28 signature; raise CardFaceAlteredError on a mismatch."""
    parsed = parse_card_face(data)
    if not signature_matches(signer, parsed.fields[TAG_FACE_SIGNATURE].value, _face_digest_info(parsed.fields)):
        raise CardFaceAlteredError("card face (visual-AP EF 0002) does not match its signature")
    return parsed.face


def build_card_face(
    *,
    birth_date: date,
    sex: str,
    card_key: rsa.RSAPublicKey,
    name_image: bytes,
    address_image: bytes,
    photo_jp2: bytes,
    expiry: date,
    security_code_image: bytes,
    signer: rsa.RSAPrivateKey,
) -> bytes:
    """Build and sign visual-AP EF 0002 content (without filler)."""
    signed = {
        TAG_FACE_BIRTH_DATE: tlv.encode(TAG_FACE_BIRTH_DATE, _date_bytes(birth_date)),
        TAG_FACE_SEX: tlv.encode(TAG_FACE_SEX, sex.encode("ascii")),
        TAG_FACE_CARD_KEY: tlv.encode(TAG_FACE_CARD_KEY, encode_public_key(card_key)),
        TAG_FACE_NAME_IMAGE: tlv.encode(TAG_FACE_NAME_IMAGE, name_image),
        TAG_FACE_ADDRESS_IMAGE: tlv.encode(TAG_FACE_ADDRESS_IMAGE, address_image),
        TAG_FACE_PHOTO: tlv.encode(TAG_FACE_PHOTO, photo_jp2),
    }
    digest_info = _face_digest_info({tag: tlv.parse_one(encoded)[0] for tag, encoded in signed.items()})
    fields = [
        *signed.values(),
        tlv.encode(TAG_FACE_SIGNATURE, sign_digest_info(signer, digest_info)),
        tlv.encode(TAG_FACE_EXPIRY, _date_bytes(expiry)),
        tlv.encode(TAG_FACE_SECURITY_CODE_IMAGE, security_code_image),
    ]
    return _record_with_offsets(TAG_FACE, TAG_FACE_OFFSETS, fields)


# Internal authentication ---------------------------------------------------------------


def check_internal_authentication(card_key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> None:
    """Check the chip's signature over SHA-256(challenge); raise CardClonedError when it fails."""
    expected = sha256_digest_info(hashlib.sha256(challenge).digest())
    if not signature_matches(card_key, signature, expected):
        raise CardClonedError("the chip's signature over the challenge does not verify with the key in its signed record")
