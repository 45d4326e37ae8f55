"""The one-page A4 handover PDF, rendered by hub.documents from the incident's transfer packet."""

from __future__ import annotations

from field_unit import transfers
from field_unit.models import Incident
from hub.contract import TransferPacket


class HandoverUnavailableError(RuntimeError):
    user_message = "引継ぎ書(PDF)の作成機能がまだこの端末にありません。"


def render(incident: Incident, unit_name: str) -> bytes:
    """Render the packet last sent for the incident, or a fresh one addressed to nobody yet."""
    try:
        from hub.documents.handover_pdf import render_handover_pdf  # type: ignore[import-not-found]
    except ImportError as exc:
        # TODO: hub.documents.handover_pdf is being written in another branch; this
        # path goes away once it is merged.
        raise HandoverUnavailableError(str(exc)) from exc

    sent = transfers.packets(incident.id)
    if sent and sent[-1].payload:
        packet = TransferPacket.from_dict(sent[-1].payload)
    else:
        packet = transfers.build_packet(incident, ["-"], unit_name, None, "")
        if incident.summary:
            packet = TransferPacket.from_dict({**packet.to_dict(), "summary": incident.summary})
    return render_handover_pdf(packet)
