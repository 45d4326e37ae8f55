"""The OpenAPI 3.0 document of the hub API, served at /api/v1/openapi.json.

Request bodies are described loosely (JSON objects with their required fields)
so that a schemathesis run exercises the hub's own validation and its
problem+json answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hub.contract import API_PREFIX, CONSENT_MODES, EMERGENCY_REASONS

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)

PROBLEM = {"description": "problem+json", "content": {"application/problem+json": {"schema": {"type": "object"}}}}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
BEARER = [{"bearer": []}]


def _operation(summary: str, *, body: dict[str, Any] | None = None, secured: bool = True, created: bool = False,
               query: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"201" if created else "200": JSON_OK, "default": PROBLEM},
    }
    if secured:
        operation["security"] = BEARER

    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}

    if query:
        operation["parameters"] = query

    return operation


def _path_parameter(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


STRING = {"type": "string"}

SUMMARY_REQUEST = _object(
    {"certificate_der_b64": STRING, "consent_mode": {"type": "string", "enum": list(CONSENT_MODES)}, "incident_id": STRING},
    {"emergency_reason": {"type": "string", "enum": list(EMERGENCY_REASONS)}, "challenge_id": STRING, "signature_b64": STRING},
)
TRANSFER_PACKET = _object(
    {"packet_id": STRING, "incident_id": STRING, "hospital_codes": {"type": "array", "items": STRING},
     "sent_at": STRING, "unit_name": STRING, "chief_complaint": STRING},
    {"grant_id": STRING, "summary": {"type": "object"}, "vitals": {"type": "array", "items": {"type": "object"}}},
)


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": _operation("Health check", secured=False)},
        "/hospitals": {"get": _operation("List hospitals")},
        "/challenges": {"post": _operation("Issue a PIN-consent challenge", created=True)},
        "/summaries": {"post": _operation("Release the 救急用サマリー under consent", body=SUMMARY_REQUEST)},
        "/transfers": {
            "get": _operation("Inbox of the calling hospital"),
            "post": _operation("Send a transfer packet", body=TRANSFER_PACKET, created=True),
        },
        "/transfers/sent": {"get": _operation("Transfers sent by this device",
                                              query=[{"name": "incident_id", "in": "query", "schema": STRING}])},
        "/transfers/{transfer_id}/status": {"post": {**_operation("Set a transfer's status", body=_object({"status": STRING}, {"reason": STRING})),
                                                     "parameters": _path_parameter("transfer_id")}},
        "/transfers/{transfer_id}/outcome": {"post": {**_operation("Record the diagnosis at first examination",
                                                                   body=_object({"diagnosis": STRING, "severity": STRING, "recorded_at": STRING})),
                                                      "parameters": _path_parameter("transfer_id")}},
        "/transfers/{transfer_id}/fhir": {"get": {**_operation("FHIR document Bundle of a transfer"),
                                                  "parameters": _path_parameter("transfer_id")}},
        "/incident-reports": {"post": _operation("Send a de-identified incident report", created=True,
                                                 body=_object({"incident_id": STRING, "unit_name": STRING, "reported_at": STRING}))},
        "/grants/{grant_id}/revoke": {"post": {**_operation("Revoke a consent grant"), "parameters": _path_parameter("grant_id")}},
        "/grants/{grant_id}/details": {"get": {**_operation("Records further back than the summary",
                                                            query=[{"name": "since", "in": "query", "schema": STRING}]),
                                               "parameters": _path_parameter("grant_id")}},
        "/grants/{grant_id}/prescription-checks": {"post": {**_operation(
            "Check proposed drugs for 重複投薬 and 併用禁忌",
            body=_object({"drugs": {"type": "array", "items": _object({"name": STRING, "ingredient": STRING}, {"route": STRING})}})),
            "parameters": _path_parameter("grant_id")}},
        "/emergency-reviews": {"get": _operation("Emergency-mode grants of the own fire department")},
        "/emergency-reviews/{grant_id}": {"post": {**_operation("Mark an emergency-mode grant reviewed", body=_object({}, {"note": STRING})),
                                                   "parameters": _path_parameter("grant_id")}},
        "/sessions": {"post": _operation("Sign in with login and password", secured=False, created=True,
                                         body=_object({"login": STRING, "password": STRING}))},
        "/patient/challenges": {"post": _operation("Issue a patient sign-in challenge", secured=False, created=True)},
        "/patient/sessions": {"post": _operation("Sign in as the patient with a card signature", secured=False, created=True,
                                                 body=_object({"certificate_der_b64": STRING, "challenge_id": STRING, "signature_b64": STRING}))},
        "/patient/access-history": {"get": _operation("Who read the signed-in patient's data")},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "マイナ救急 hub API", "version": "1"},
        "servers": [{"url": API_PREFIX}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_document() -> object:
    return jsonify(document())
