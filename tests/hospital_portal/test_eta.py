"""The ETA deadline shown in the inbox, including hostile values."""

from __future__ import annotations

import pytest

from hospital_portal.inbox import eta_deadline
from hub.contract import TransferPacket, TransferView


def view(eta_minutes: int | None) -> TransferView:
    packet = TransferPacket(
        packet_id="p-1",
        incident_id="i-1",
        hospital_codes=["H-1"],
        sent_at="2026-12-04T10:00:00+00:00",
        unit_name="試験救急隊",
        chief_complaint="胸痛",
        eta_minutes=eta_minutes,
    )
    return TransferView(transfer_id="t-1", hospital_code="H-1", status="sent", updated_at=packet.sent_at, packet=packet)


def test_eta_adds_minutes() -> None:
    assert eta_deadline(view(12)) == "2026-12-04T10:12:00+00:00"


def test_eta_missing_is_none() -> None:
    assert eta_deadline(view(None)) is None


@pytest.mark.parametrize("minutes", [9_999_999_999, -5, 24 * 60 + 1])
def test_eta_out_of_range_is_none(minutes: int) -> None:
    assert eta_deadline(view(minutes)) is None
