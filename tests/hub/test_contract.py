"""Wire contract: round trips and the error for each malformed field."""

from __future__ import annotations

import pytest

from hub.contract import ContractError, SummaryRequest, TransferPacket


def packet_dict(**changes) -> dict:
    base = {
        "packet_id": "p-1",
        "incident_id": "i-1",
        "hospital_codes": ["H-1", "H-2"],
        "sent_at": "2026-12-04T10:00:00+00:00",
        "unit_name": "中央救急1",
        "chief_complaint": "胸痛",
        "eta_minutes": 12,
        "vitals": [{"measured_at": "2026-12-04T10:01:00+00:00", "jcs": "1", "systolic_bp": 150, "body_temperature": 36.8}],
    }
    base.update(changes)
    return base


def test_packet_round_trip() -> None:
    packet = TransferPacket.from_dict(packet_dict())
    assert TransferPacket.from_dict(packet.to_dict()) == packet


def test_packet_missing_field_named() -> None:
    data = packet_dict()
    del data["unit_name"]

    with pytest.raises(ContractError, match="unit_name"):
        TransferPacket.from_dict(data)


@pytest.mark.parametrize("codes", [[], "H-1", [1], None])
def test_packet_rejects_bad_hospital_codes(codes) -> None:
    with pytest.raises(ContractError):
        TransferPacket.from_dict(packet_dict(hospital_codes=codes))


def test_packet_rejects_wrong_vital_type() -> None:
    with pytest.raises(ContractError, match="systolic_bp"):
        TransferPacket.from_dict(packet_dict(vitals=[{"measured_at": "x", "systolic_bp": "150"}]))


def test_summary_request_rejects_unknown_mode() -> None:
    with pytest.raises(ContractError, match="consent_mode"):
        SummaryRequest.from_dict({"certificate_der_b64": "AA==", "consent_mode": "guess", "incident_id": "i"})


def test_summary_request_rejects_non_object() -> None:
    with pytest.raises(ContractError):
        SummaryRequest.from_dict(["not", "an", "object"])  # type: ignore[arg-type]


def test_packet_rejects_nul_character() -> None:
    with pytest.raises(ContractError, match="NUL"):
        TransferPacket.from_dict(packet_dict(incident_id="i\x00-1"))
