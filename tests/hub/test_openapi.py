"""Schemathesis against the hub's OpenAPI document: no input may cause a server error.

Runs on the WSGI app with a device token, a bounded number of examples per
operation, and only the "not a server error" check: 4xx answers are expected.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .conftest import DEVICE_TOKEN

MAX_EXAMPLES = 8


def test_api_no_server_error(app) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        run_operation(operation)


def run_operation(operation) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check_case(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {DEVICE_TOKEN}"}
        case.call_and_validate(checks=[not_a_server_error])

    check_case()


def test_document_lists_summaries(client) -> None:
    document = client.get("/api/v1/openapi.json").json

    assert "/summaries" in document["paths"]
    assert document["openapi"].startswith("3.")


def test_document_has_request_id(client) -> None:
    document = client.get("/api/v1/openapi.json").json

    schema = document["paths"]["/summaries"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "request_id" in schema["properties"]


def test_hospital_endpoints_accept_staff_session(client) -> None:
    document = client.get("/api/v1/openapi.json").json

    assert {"staffSession": []} in document["paths"]["/transfers"]["get"]["security"]
    assert {"staffSession": []} in document["paths"]["/transfers/{transfer_id}/status"]["post"]["security"]
    assert "staffSession" in document["components"]["securitySchemes"]
