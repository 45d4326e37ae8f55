"""The OpenAPI 3.0 document of the hub API, served at /api/v1/openapi.json.

Request bodies are described loosely (JSON objects with their required fields)
so that a schemathesis run exercises the hub's own validation and its
problem+json answers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from hub.contract import (
    API_PREFIX,
    CONSENT_MODES,
    EMERGENCY_REASONS,
    GCS_RANGES,
    INTERACTION_KINDS,
    REQUEST_ID_MAX_LENGTH,
    SEVERITIES,
)

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)

PROBLEM = {"description": "problem+json", "content": {"application/problem+json": {"schema": {"type": "object"}}}}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
BEARER = [{"bearer": []}]
# Hospital endpoints take the hospital system's API token or a hospital_staff
# session token from POST /sessions; both travel as a bearer token.
HOSPITAL_BEARER = [{"bearer": []}, {"staffSession": []}]


def _operation(summary: str, *, body: dict[str, Any] | None = None, secured: bool = True, created: bool = False,
               query: list[dict[str, Any]] | None = None, response: dict[str, Any] | None = None,
               security: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    success = JSON_OK if response is None else {"description": "OK", "content": {"application/json": {"schema": response}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"201" if created else "200": success, "default": PROBLEM},
    }
    if secured:
        operation["security"] = security or BEARER

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
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
NAMED_ITEM = _object({"name": STRING}, {"date": NULLABLE_STRING, "detail": NULLABLE_STRING})

SUMMARY_REQUEST = _object(
    {"certificate_der_b64": STRING, "consent_mode": {"type": "string", "enum": list(CONSENT_MODES)}, "incident_id": STRING},
    {"emergency_reason": {"type": "string", "enum": list(EMERGENCY_REASONS)}, "challenge_id": STRING, "signature_b64": STRING,
     "request_id": {"type": "string", "minLength": 1, "maxLength": REQUEST_ID_MAX_LENGTH,
                    "description": "Idempotency key: a repeat from the same client returns the same grant and summary."}},
)
SUMMARY = _object(
    {"grant_id": STRING, "grant_expires_at": STRING, "consent_mode": STRING, "generated_at": STRING,
     "patient": {"type": "object"}},
    {
        "insurance": {"type": "object", "nullable": True},
        "medications": {"type": "array", "items": {"type": "object"}},
        "visits": {"type": "array", "items": {"type": "object"}},
        "conditions": {"type": "array", "items": NAMED_ITEM},
        "allergies": {"type": "array", "items": NAMED_ITEM},
        "surgeries": {"type": "array", "items": NAMED_ITEM},
        "infections": {"type": "array", "items": NAMED_ITEM},
        "procedures": {"type": "array", "items": NAMED_ITEM, "description": "診療 (procedures from claims), 3 months"},
        "interactions": {"type": "array", "items": _object(
            {"kind": {"type": "string", "enum": list(INTERACTION_KINDS)}, "drug_a": STRING, "drug_b": STRING, "source": STRING},
            {"reason": NULLABLE_STRING})},
        "dialysis": {"type": "boolean"},
        "last_checkup_on": NULLABLE_STRING,
    },
)
VITALS = _object(
    {"measured_at": STRING},
    {
        "jcs": STRING, "systolic_bp": INTEGER, "diastolic_bp": INTEGER, "heart_rate": INTEGER,
        "respiratory_rate": INTEGER, "spo2": INTEGER, "body_temperature": {"type": "number"},
        **{name: {"type": "integer", "minimum": low, "maximum": high} for name, (low, high) in GCS_RANGES.items()},
        "pupils": STRING,
        "estimated_severity": {"type": "string", "enum": list(SEVERITIES)},
    },
)
HOSPITALS = _object({"hospitals": {"type": "array", "items": _object(
    {"code": STRING, "name": STRING, "address": STRING, "emergency_designated": {"type": "boolean"}},
    {"latitude": {"type": "number", "nullable": True}, "longitude": {"type": "number", "nullable": True},
     "departments": {"type": "array", "items": STRING}, "beds": {"type": "integer", "nullable": True},
     "stroke_care": {"type": "boolean"}},
)}})
TRANSFER_PACKET = _object(
    {"packet_id": STRING, "incident_id": STRING, "hospital_codes": {"type": "array", "items": STRING},
     "sent_at": STRING, "unit_name": STRING, "chief_complaint": STRING},
    {"grant_id": STRING, "summary": {"type": "object"}, "vitals": {"type": "array", "items": VITALS}},
)


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": _operation("Health check", secured=False)},
        "/hospitals": {"get": _operation("List hospitals with departments, beds and stroke care", response=HOSPITALS)},
        "/challenges": {"post": _operation("Issue a PIN-consent challenge", created=True)},
        "/summaries": {"post": _operation("Release the 救急用サマリー under consent", body=SUMMARY_REQUEST, response=SUMMARY)},
        "/transfers": {
            "get": _operation("Inbox of the calling hospital", security=HOSPITAL_BEARER),
            "post": _operation("Send a transfer packet", body=TRANSFER_PACKET, created=True),
        },
        "/transfers/sent": {"get": _operation("Transfers sent by this device",
                                              query=[{"name": "incident_id", "in": "query", "schema": STRING}])},
        "/transfers/{transfer_id}/status": {"post": {**_operation("Set a transfer's status", security=HOSPITAL_BEARER,
                                                                  body=_object({"status": STRING}, {"reason": STRING})),
                                                     "parameters": _path_parameter("transfer_id")}},
        "/transfers/{transfer_id}/outcome": {"post": {**_operation("Record the diagnosis at first examination", security=HOSPITAL_BEARER,
                                                                   body=_object({"diagnosis": STRING, "severity": STRING, "recorded_at": STRING})),
                                                      "parameters": _path_parameter("transfer_id")}},
        "/transfers/{transfer_id}/fhir": {"get": {**_operation("FHIR document Bundle of a transfer", security=HOSPITAL_BEARER),
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
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API token of a device or a hospital system"},
            "staffSession": {"type": "http", "scheme": "bearer",
                             "description": "Session token of a hospital_staff user from POST /sessions"},
        }},
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi_document() -> object:
    return jsonify(document())
