"""The one-page A4 handover PDF of an incident, rendered on the tablet by hub.documents.

Rendering needs no network, so the crew can print or show the sheet without coverage.
The sheet shows the packet last sent for the incident with every measurement taken so
far, because the vitals taken after sending matter most at the handover. Before any
packet was sent, a packet addressed to no hospital yet is built from the incident.
"""

from __future__ import annotations

import dataclasses
import logging

from field_unit import observations, transfers
from field_unit.models import Incident
from hub.contract import Summary, TransferPacket
from hub.documents.handover_pdf import HandoverFontMissingError, render_handover_pdf

logger = logging.getLogger(__name__)

NO_HOSPITAL_YET = "-"


class HandoverUnavailableError(RuntimeError):
    """The PDF could not be rendered. ``user_message`` contains the Japanese reason and the next step."""

    def __init__(self, message: str, user_message: str) -> None:
        super().__init__(message)
        self.user_message = user_message


def handover_packet(incident: Incident, unit_name: str) -> TransferPacket:
    """Return the packet the sheet shows: the last one sent, or a new one, with the current vitals and summary."""
    sent = transfers.packets(incident.id)
    if sent and sent[-1].payload:
        packet = TransferPacket.from_dict(sent[-1].payload)
    else:
        packet = transfers.build_packet(incident, [NO_HOSPITAL_YET], unit_name, None, "")

    summary = Summary.from_dict(incident.summary) if incident.summary else packet.summary
    return dataclasses.replace(packet, summary=summary, vitals=observations.as_contract_vitals(incident.id))


def render(incident: Incident, unit_name: str) -> bytes:
    """Render the incident's handover sheet as PDF bytes; raise HandoverUnavailableError when the font is missing."""
    packet = handover_packet(incident, unit_name)
    try:
        pdf = render_handover_pdf(packet)
    except HandoverFontMissingError as exc:
        logger.error("handover PDF for incident %s not rendered: %s", incident.id, exc)
        raise HandoverUnavailableError(
            str(exc), "日本語フォントがこの端末にないため、引継書(PDF)を作成できません。管理者に連絡してください。"
        ) from exc

    logger.info("handover PDF rendered for incident %s (%d bytes)", incident.id, len(pdf))
    return pdf
