"""The handover PDF rendered on the tablet: one A4 page with the patient, made without coverage."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.field_unit.conftest import demo_hospital, unreachable_url
from tests.field_unit.test_screens import signed_in


def pdf_pages(pdf: bytes) -> list:
    return PdfReader(io.BytesIO(pdf)).pages


def incident_with_summary(client) -> str:
    """Open an incident, read the card with verbal consent and return the incident id."""
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/incidents/{incident_id}/card/read")
    client.post(f"/incidents/{incident_id}/consent/verbal")
    return incident_id


def test_incident_screen_pdf_button(field_app) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]

    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)

    assert f'href="/incidents/{incident_id}/handover.pdf"' in page
    assert "引継ぎ書 PDF" in page


def test_pdf_offline_one_page_with_name(field_app, hub) -> None:
    from field_unit.models import Incident, db

    client = signed_in(field_app)
    incident_id = incident_with_summary(client)
    with field_app.app_context():
        patient = db.session.get(Incident, incident_id).summary["patient"]
    client.post(f"/incidents/{incident_id}/vitals", data={"jcs": "10", "heart_rate": "117"})
    field_app.config["HUB_URL"] = unreachable_url()

    response = client.get(f"/incidents/{incident_id}/handover.pdf")
    pages = pdf_pages(response.data)
    text = pages[0].extract_text()

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"].startswith("no-store")
    assert len(pages) == 1
    assert patient["family_name"] in text
    assert patient["given_name"] in text
    assert "117" in text


def test_pdf_after_transfer_is_sent_packet(field_app, hub) -> None:
    client = signed_in(field_app)
    incident_id = incident_with_summary(client)
    client.post(f"/incidents/{incident_id}/transfer", data={"hospital_code": [demo_hospital(hub)], "eta_minutes": "12"})

    text = pdf_pages(client.get(f"/incidents/{incident_id}/handover.pdf").data)[0].extract_text()

    assert "約 12 分" in text


def test_pdf_without_card(field_app) -> None:
    client = signed_in(field_app)
    incident_id = client.post("/incidents").headers["Location"].rsplit("/", 1)[1]

    pages = pdf_pages(client.get(f"/incidents/{incident_id}/handover.pdf").data)

    assert len(pages) == 1
    assert "傷病者情報なし" in pages[0].extract_text()
