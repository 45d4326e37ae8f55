"""Wire formats shared by the hub, the field unit and the hospital portal.

Pure data definitions: no Flask, no database. Every type converts to and from
plain JSON-ready dicts. ``from_dict`` raises :class:`ContractError` naming the
first field that is missing or malformed, so a bad packet is rejected whole.
Dates travel as ISO 8601 strings (``YYYY-MM-DD``), times as ISO 8601 with an
offset, stored in UTC.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v1"

CONSENT_MODES = ("pin", "verbal", "emergency")

# Reason codes for the emergency mode (同意困難: consent cannot be obtained and the
# data is needed to protect life). The wording follows the FDMA consent rules.
EMERGENCY_REASONS = {
    "unconscious": "意識障害のため同意取得困難",
    "cannot_communicate": "意思疎通困難",
    "cardiac_arrest": "心肺停止",
    "other": "その他(生命・身体の保護のため必要)",
}

# FDMA reasons a hospital gives when it cannot accept a patient (収容不可理由).
DECLINE_REASONS = {
    "treatment_difficult": "処置困難",
    "beds_full": "ベッド満床",
    "busy": "手術中・患者対応中",
    "out_of_specialty": "専門外",
    "no_doctor": "医師不在",
    "no_prior_care": "初診・かかりつけ医なし",
    "other": "その他",
}

# 傷病程度 (severity) as judged by the physician at the first examination (FDMA).
SEVERITIES = {
    "death": "死亡",
    "severe": "重症(長期入院)",
    "moderate": "中等症(入院診療)",
    "mild": "軽症(外来診療)",
    "other": "その他",
}

# Incident timeline in FDMA order: 入電, 出動, 現場到着, 傷病者接触, 現場出発, 病院到着, 医師引継ぎ.
TIMELINE_KEYS = (
    "call_received",
    "dispatched",
    "arrived_scene",
    "patient_contact",
    "departed_scene",
    "arrived_hospital",
    "handover",
)

# Reasons a マイナ救急 attempt stopped before the data was viewed (MynaSteps.stop_reason).
# Hub problem codes (unlinked_card, expired_certificate, ...) may also appear.
MYNA_STOP_REASONS = {
    "no_card": "カードを持っていない",
    "consent_refused": "同意が得られなかった(拒否)",
    "urgent": "処置を優先(緊急度が高い)",
    "card_error": "カードを読み取れなかった",
    "not_my_number_card": "マイナンバーカードではなかった",
    "unlinked_card": "保険証利用登録なし",
    "expired_certificate": "電子証明書の期限切れ",
    "unknown_card": "電子証明書を確認できなかった",
    "unreachable": "通信不良",
}

TRANSFER_STATUSES = (
    "sent",
    "delivered",
    "viewed",
    "accepted",
    "declined",
    "arrived",
    "handed_over",
    "withdrawn",
)


class ContractError(ValueError):
    """A wire message is missing a field or has a malformed value."""


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(data, dict):
        raise ContractError(f"expected a JSON object, got {type(data).__name__}")

    if key not in data or data[key] is None:
        raise ContractError(f"missing field: {key}")

    value = data[key]
    if not isinstance(value, kind):
        raise ContractError(f"invalid field {key}: expected {kind}, got {type(value).__name__}")

    _reject_bool_as_number(key, value, kind)
    _reject_nul(key, value)
    return value


def _optional(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ContractError(f"invalid field {key}: expected {kind}, got {type(value).__name__}")

    _reject_bool_as_number(key, value, kind)
    _reject_nul(key, value)
    return value


def _reject_bool_as_number(key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    # bool is a subclass of int in Python, but JSON true is never a count or a minute.
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ContractError(f"invalid field {key}: expected a number, got a boolean")


def _reject_nul(key: str, value: Any) -> None:
    # No legitimate text contains U+0000, and PostgreSQL cannot store it.
    if isinstance(value, str) and "\x00" in value:
        raise ContractError(f"invalid field {key}: contains a NUL character")


def _items(data: dict[str, Any], key: str, item_type: Any) -> list[Any]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        raise ContractError(f"invalid field {key}: expected a list")

    return [item_type.from_dict(item) for item in raw]


class _Record:
    """Mixin giving dataclasses a ``to_dict`` that recurses into nested records."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


_IMMUTABLE_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """Convert like ``dataclasses.asdict``, without its deepcopy of every str and int.

    asdict deep-copies each leaf value, which made it the largest Python cost of
    serialising a summary; immutable scalars need no copy.
    """
    if isinstance(value, _IMMUTABLE_SCALARS):
        return value

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}

    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)

    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}

    return copy.deepcopy(value)


@functools.lru_cache(maxsize=None)
def _field_names(record_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record_type))


@dataclass
class Challenge(_Record):
    """Hub → field unit: a single-use random challenge for PIN consent.

    The card signs ``DigestInfo(SHA-256(challenge))`` with its 利用者証明用 key
    after the patient enters the PIN; the signature goes back in a
    :class:`SummaryRequest` with ``consent_mode="pin"``.
    """

    challenge_id: str
    challenge_b64: str
    expires_at: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Challenge:
        return cls(**{f.name: _require(data, f.name, str) for f in dataclasses.fields(cls)})


REQUEST_ID_MAX_LENGTH = 64


@dataclass
class SummaryRequest(_Record):
    """Field unit → hub: the card's 利用者証明用 certificate plus the consent mode.

    ``pin`` mode also carries the challenge id and the card's signature over it.
    ``request_id`` is an optional idempotency key chosen by the field unit: a
    repeat with the same key from the same client gets the same grant back
    instead of a second one (at most REQUEST_ID_MAX_LENGTH characters).
    """

    certificate_der_b64: str
    consent_mode: str
    incident_id: str
    emergency_reason: str | None = None
    challenge_id: str | None = None
    signature_b64: str | None = None
    request_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SummaryRequest:
        request = cls(
            certificate_der_b64=_require(data, "certificate_der_b64", str),
            consent_mode=_require(data, "consent_mode", str),
            incident_id=_require(data, "incident_id", str),
            emergency_reason=_optional(data, "emergency_reason", str),
            challenge_id=_optional(data, "challenge_id", str),
            signature_b64=_optional(data, "signature_b64", str),
            request_id=_optional(data, "request_id", str),
        )
        if request.request_id is not None and not 0 < len(request.request_id) <= REQUEST_ID_MAX_LENGTH:
            raise ContractError(f"request_id must have 1 to {REQUEST_ID_MAX_LENGTH} characters")

        if request.consent_mode not in CONSENT_MODES:
            raise ContractError(f"invalid consent_mode: {request.consent_mode!r}")

        if request.consent_mode == "emergency" and request.emergency_reason not in EMERGENCY_REASONS:
            raise ContractError("emergency consent needs emergency_reason, one of " + ", ".join(EMERGENCY_REASONS))

        if request.consent_mode == "pin" and not (request.challenge_id and request.signature_b64):
            raise ContractError("pin consent needs challenge_id and signature_b64")

        return request


@dataclass
class PatientInfo(_Record):
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth_date: str
    sex: str
    address: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatientInfo:
        return cls(**{f.name: _require(data, f.name, str) for f in dataclasses.fields(cls)})


@dataclass
class InsuranceInfo(_Record):
    """資格情報 (insurance qualification) as shown in the summary."""

    insurer_number: str
    insurer_name: str
    symbol: str
    number: str
    branch: str
    relationship: str
    copay_ratio: int
    valid_from: str
    valid_to: str | None = None
    limit_category: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InsuranceInfo:
        return cls(
            insurer_number=_require(data, "insurer_number", str),
            insurer_name=_require(data, "insurer_name", str),
            symbol=_require(data, "symbol", str),
            number=_require(data, "number", str),
            branch=_require(data, "branch", str),
            relationship=_require(data, "relationship", str),
            copay_ratio=_require(data, "copay_ratio", int),
            valid_from=_require(data, "valid_from", str),
            valid_to=_optional(data, "valid_to", str),
            limit_category=_optional(data, "limit_category", str),
        )


@dataclass
class MedicationItem(_Record):
    drug_code: str
    drug_name: str
    ingredient: str
    dispensed_on: str
    days: int
    dose: str
    source: str
    hospital_name: str
    high_risk: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MedicationItem:
        return cls(
            drug_code=_require(data, "drug_code", str),
            drug_name=_require(data, "drug_name", str),
            ingredient=_require(data, "ingredient", str),
            dispensed_on=_require(data, "dispensed_on", str),
            days=_require(data, "days", int),
            dose=_require(data, "dose", str),
            source=_require(data, "source", str),
            hospital_name=_require(data, "hospital_name", str),
            high_risk=_optional(data, "high_risk", str),
        )


@dataclass
class VisitItem(_Record):
    hospital_code: str
    hospital_name: str
    visited_on: str
    department: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VisitItem:
        return cls(**{f.name: _require(data, f.name, str) for f in dataclasses.fields(cls)})


@dataclass
class NamedDateItem(_Record):
    """A condition, surgery or allergy: a name, a date or detail, and a source."""

    name: str
    date: str | None = None
    detail: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NamedDateItem:
        return cls(
            name=_require(data, "name", str),
            date=_optional(data, "date", str),
            detail=_optional(data, "detail", str),
        )


# Kinds of prescription-check findings between two current medications.
INTERACTION_KINDS = ("重複投薬", "併用禁忌")


@dataclass
class InteractionItem(_Record):
    """A prescription-check finding between two current medications of the summary.

    ``kind`` is 重複投薬 (duplicate: same ingredient by the same route) or
    併用禁忌 (contraindicated combination). ``source`` names the rule's
    package-insert source, or the check itself for a duplicate.
    """

    kind: str
    drug_a: str
    drug_b: str
    source: str
    reason: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractionItem:
        item = cls(
            kind=_require(data, "kind", str),
            drug_a=_require(data, "drug_a", str),
            drug_b=_require(data, "drug_b", str),
            source=_require(data, "source", str),
            reason=_optional(data, "reason", str),
        )
        if item.kind not in INTERACTION_KINDS:
            raise ContractError(f"invalid interaction kind: {item.kind!r}, expected one of {', '.join(INTERACTION_KINDS)}")

        return item


@dataclass
class Summary(_Record):
    """The 救急用サマリー (emergency summary) released under one consent grant."""

    grant_id: str
    grant_expires_at: str
    consent_mode: str
    generated_at: str
    patient: PatientInfo
    insurance: InsuranceInfo | None
    medications: list[MedicationItem] = field(default_factory=list)
    visits: list[VisitItem] = field(default_factory=list)
    conditions: list[NamedDateItem] = field(default_factory=list)
    allergies: list[NamedDateItem] = field(default_factory=list)
    surgeries: list[NamedDateItem] = field(default_factory=list)
    dialysis: bool = False
    last_checkup_on: str | None = None
    infections: list[NamedDateItem] = field(default_factory=list)
    procedures: list[NamedDateItem] = field(default_factory=list)
    interactions: list[InteractionItem] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        insurance = data.get("insurance")
        return cls(
            grant_id=_require(data, "grant_id", str),
            grant_expires_at=_require(data, "grant_expires_at", str),
            consent_mode=_require(data, "consent_mode", str),
            generated_at=_require(data, "generated_at", str),
            patient=PatientInfo.from_dict(_require(data, "patient", dict)),
            insurance=InsuranceInfo.from_dict(insurance) if insurance else None,
            medications=_items(data, "medications", MedicationItem),
            visits=_items(data, "visits", VisitItem),
            conditions=_items(data, "conditions", NamedDateItem),
            allergies=_items(data, "allergies", NamedDateItem),
            surgeries=_items(data, "surgeries", NamedDateItem),
            dialysis=bool(data.get("dialysis", False)),
            last_checkup_on=_optional(data, "last_checkup_on", str),
            infections=_items(data, "infections", NamedDateItem),
            procedures=_items(data, "procedures", NamedDateItem),
            interactions=_items(data, "interactions", InteractionItem),
        )


# Glasgow Coma Scale components: eye opening E1-4, verbal response V1-5, motor response M1-6.
GCS_RANGES = {"gcs_e": (1, 4), "gcs_v": (1, 5), "gcs_m": (1, 6)}


@dataclass
class Vitals(_Record):
    """One set of vital signs measured by the crew.

    ``jcs`` is the Japan Coma Scale as text (``"0"``, ``"II-20"``). ``gcs_*`` are
    the Glasgow Coma Scale components. ``pupils`` is free text (size and light
    reflex). ``estimated_severity`` is the crew's estimate, a key of SEVERITIES.
    """

    measured_at: str
    jcs: str | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None
    heart_rate: int | None = None
    respiratory_rate: int | None = None
    spo2: int | None = None
    body_temperature: float | None = None
    gcs_e: int | None = None
    gcs_v: int | None = None
    gcs_m: int | None = None
    pupils: str | None = None
    estimated_severity: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vitals:
        vitals = cls(
            measured_at=_require(data, "measured_at", str),
            jcs=_optional(data, "jcs", str),
            systolic_bp=_optional(data, "systolic_bp", int),
            diastolic_bp=_optional(data, "diastolic_bp", int),
            heart_rate=_optional(data, "heart_rate", int),
            respiratory_rate=_optional(data, "respiratory_rate", int),
            spo2=_optional(data, "spo2", int),
            body_temperature=_optional(data, "body_temperature", (int, float)),
            gcs_e=_optional(data, "gcs_e", int),
            gcs_v=_optional(data, "gcs_v", int),
            gcs_m=_optional(data, "gcs_m", int),
            pupils=_optional(data, "pupils", str),
            estimated_severity=_optional(data, "estimated_severity", str),
        )
        for name, (low, high) in GCS_RANGES.items():
            value = getattr(vitals, name)
            if value is not None and (isinstance(value, bool) or not low <= value <= high):
                raise ContractError(f"invalid field {name}: {value!r}, expected {low} to {high}")

        if vitals.estimated_severity is not None and vitals.estimated_severity not in SEVERITIES:
            raise ContractError(f"invalid estimated_severity: {vitals.estimated_severity!r}, expected one of {', '.join(SEVERITIES)}")

        return vitals


@dataclass
class TransferPacket(_Record):
    """Field unit → hub → hospital: what the ER needs before the patient arrives.

    ``packet_id`` doubles as the idempotency key: sending the same packet twice
    stores it once.
    """

    packet_id: str
    incident_id: str
    hospital_codes: list[str]
    sent_at: str
    unit_name: str
    chief_complaint: str
    eta_minutes: int | None = None
    grant_id: str | None = None
    summary: Summary | None = None
    vitals: list[Vitals] = field(default_factory=list)
    notes: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferPacket:
        codes = _require(data, "hospital_codes", list)
        if not codes or not all(isinstance(code, str) for code in codes):
            raise ContractError("hospital_codes must be a non-empty list of strings")

        summary = data.get("summary")
        return cls(
            packet_id=_require(data, "packet_id", str),
            incident_id=_require(data, "incident_id", str),
            hospital_codes=codes,
            sent_at=_require(data, "sent_at", str),
            unit_name=_require(data, "unit_name", str),
            chief_complaint=_require(data, "chief_complaint", str),
            eta_minutes=_eta_minutes(data),
            grant_id=_optional(data, "grant_id", str),
            summary=Summary.from_dict(summary) if summary else None,
            vitals=_items(data, "vitals", Vitals),
            notes=_optional(data, "notes", str) or "",
        )


@dataclass
class TransferOutcome(_Record):
    """Hospital → hub → fire department: diagnosis and 傷病程度 at the first examination."""

    diagnosis: str
    severity: str
    recorded_at: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferOutcome:
        outcome = cls(**{f.name: _require(data, f.name, str) for f in dataclasses.fields(cls)})
        if outcome.severity not in SEVERITIES:
            raise ContractError(f"invalid severity: {outcome.severity!r}, expected one of {', '.join(SEVERITIES)}")

        return outcome


MAX_ETA_MINUTES = 24 * 60


def _eta_minutes(data: dict[str, Any]) -> int | None:
    eta = _optional(data, "eta_minutes", int)
    if eta is not None and not 0 <= eta <= MAX_ETA_MINUTES:
        raise ContractError(f"invalid field eta_minutes: {eta} is outside 0..{MAX_ETA_MINUTES}")

    return eta


@dataclass
class TransferView(_Record):
    """One packet as addressed to one hospital, with its status as both sides see it.

    ``status_reason`` is a key of :data:`DECLINE_REASONS` when declined.
    """

    transfer_id: str
    hospital_code: str
    status: str
    updated_at: str
    packet: TransferPacket
    hospital_name: str = ""
    status_reason: str | None = None
    outcome: TransferOutcome | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferView:
        outcome = data.get("outcome")
        return cls(
            transfer_id=_require(data, "transfer_id", str),
            hospital_code=_require(data, "hospital_code", str),
            status=_require(data, "status", str),
            updated_at=_require(data, "updated_at", str),
            packet=TransferPacket.from_dict(_require(data, "packet", dict)),
            hospital_name=_optional(data, "hospital_name", str) or "",
            status_reason=_optional(data, "status_reason", str),
            outcome=TransferOutcome.from_dict(outcome) if outcome else None,
        )


@dataclass
class Inquiry(_Record):
    """One 照会 (inquiry) to a hospital and its result."""

    hospital_code: str
    asked_at: str
    result: str
    reason: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inquiry:
        inquiry = cls(
            hospital_code=_require(data, "hospital_code", str),
            asked_at=_require(data, "asked_at", str),
            result=_require(data, "result", str),
            reason=_optional(data, "reason", str),
        )
        if inquiry.result not in ("accepted", "declined", "no_answer"):
            raise ContractError(f"invalid inquiry result: {inquiry.result!r}")

        if inquiry.result == "declined" and inquiry.reason not in DECLINE_REASONS:
            raise ContractError("a declined inquiry needs reason, one of " + ", ".join(DECLINE_REASONS))

        return inquiry


@dataclass
class MynaSteps(_Record):
    """How far the マイナ救急 steps went in one incident, as FDMA counts them."""

    attempted: bool = False
    card_present: bool | None = None
    card_read: bool | None = None
    linked: bool | None = None
    consent_mode: str | None = None
    viewed: bool | None = None
    stop_reason: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MynaSteps:
        if not isinstance(data, dict):
            raise ContractError("myna must be an object")

        return cls(
            attempted=bool(data.get("attempted", False)),
            card_present=_optional(data, "card_present", bool),
            card_read=_optional(data, "card_read", bool),
            linked=_optional(data, "linked", bool),
            consent_mode=_optional(data, "consent_mode", str),
            viewed=_optional(data, "viewed", bool),
            stop_reason=_optional(data, "stop_reason", str),
        )


@dataclass
class IncidentReport(_Record):
    """Field unit → hub: the de-identified record of one incident, for statistics.

    No name, certificate or insurance number: an age band (``"80-89"``), sex,
    the timeline (keys of :data:`TIMELINE_KEYS`, ISO times or None when not
    recorded), JCS, 傷病程度, the inquiries and the マイナ救急 steps. Sending it
    again with the same ``incident_id`` replaces the earlier version.
    """

    incident_id: str
    unit_name: str
    reported_at: str
    age_band: str | None = None
    sex: str | None = None
    times: dict[str, str | None] = field(default_factory=dict)
    jcs: str | None = None
    severity: str | None = None
    inquiries: list[Inquiry] = field(default_factory=list)
    myna: MynaSteps = field(default_factory=MynaSteps)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentReport:
        times = data.get("times") or {}
        if not isinstance(times, dict) or not set(times) <= set(TIMELINE_KEYS):
            raise ContractError("times keys must be among " + ", ".join(TIMELINE_KEYS))

        severity = _optional(data, "severity", str)
        if severity is not None and severity not in SEVERITIES:
            raise ContractError(f"invalid severity: {severity!r}")

        return cls(
            incident_id=_require(data, "incident_id", str),
            unit_name=_require(data, "unit_name", str),
            reported_at=_require(data, "reported_at", str),
            age_band=_optional(data, "age_band", str),
            sex=_optional(data, "sex", str),
            times={key: _optional(times, key, str) for key in times},
            jcs=_optional(data, "jcs", str),
            severity=severity,
            inquiries=_items(data, "inquiries", Inquiry),
            myna=MynaSteps.from_dict(data.get("myna") or {}),
        )


@dataclass
class HospitalInfo(_Record):
    """A hospital as the hub lists it to field units.

    ``departments`` are the 診療科 (departments) of the hospital list, ``beds``
    its bed count when known, and ``stroke_care`` whether it offers acute
    stroke care (急性期脳卒中).
    """

    code: str
    name: str
    address: str
    latitude: float | None
    longitude: float | None
    emergency_designated: bool
    departments: list[str] = field(default_factory=list)
    beds: int | None = None
    stroke_care: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HospitalInfo:
        departments = data.get("departments") or []
        if not isinstance(departments, list) or not all(isinstance(name, str) for name in departments):
            raise ContractError("departments must be a list of strings")

        return cls(
            code=_require(data, "code", str),
            name=_require(data, "name", str),
            address=_require(data, "address", str),
            latitude=_optional(data, "latitude", (int, float)),
            longitude=_optional(data, "longitude", (int, float)),
            emergency_designated=bool(data.get("emergency_designated", False)),
            departments=departments,
            beds=_optional(data, "beds", int),
            stroke_care=bool(data.get("stroke_care", False)),
        )
