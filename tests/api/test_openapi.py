"""The OpenAPI document tells the truth: what the fuzz tests found undocumented, pinned here."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json

from service.app import create_app
from service.settings import Settings
from tests.api.conftest import Client

APP = create_app(Settings(), dsn="postgresql://unused", run_migrations=False)  # never started
DOC: dict[str, Any] = msgspec.json.decode(encode_json(APP.openapi_schema.to_schema()))
OPERATIONS = [
    pytest.param(operation, id=f"{method.upper()} {path}")
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "responses" in operation
]
GUARDS_THAT_LIMIT = {"require_write", "require_admin"}


def _responses(method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = DOC["paths"][path][method.lower()]["responses"]
    return responses


def _doc_path(template: str) -> str:
    """``/v1/webhooks/{webhook_id:uuid}`` as OpenAPI writes it: ``/v1/webhooks/{webhook_id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", template)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_documented_error_is_problem_json(operation: dict[str, Any]) -> None:
    # Litestar documents its own 400 as application/json unless the route names 400 itself.
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            assert set(response["content"]) == {"application/problem+json"}, status


def test_every_change_documents_the_write_limit() -> None:
    changes = {
        (method, _doc_path(route.path))
        for route in APP.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if {guard.__name__ for guard in handler.guards or []} & GUARDS_THAT_LIMIT
        for method in handler.http_methods
        if method not in {"GET", "HEAD", "OPTIONS"}
    }
    assert changes, "no write routes found"
    for method, path in changes:
        assert "429" in _responses(method, path), (method, path)


def test_append_documents_a_retry_as_200() -> None:
    responses = _responses("POST", "/v1/events")
    assert {"200", "201"} <= set(responses)
    assert responses["200"]["content"] == responses["201"]["content"]


def test_webhook_refusals_are_documented() -> None:
    assert {"413", "422"} <= set(_responses("POST", "/v1/webhooks"))


def test_stream_documents_not_modified() -> None:
    operation = DOC["paths"]["/v1/streams/{stream}"]["get"]
    assert "304" in operation["responses"]
    assert "If-None-Match" in {p["name"] for p in operation["parameters"]}


def test_append_body_documents_a_non_empty_date() -> None:
    schema = DOC["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    one_event = schema["schema"]["oneOf"][0]["oneOf"]
    assert all(event["properties"]["effective"]["minLength"] == 1 for event in one_event)


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/events", "GET, OPTIONS, POST"),
        ("/v1/webhooks/7a0c3f52-7c5e-4b6e-9d1c-0f7c0d3b8d11", "DELETE, GET, OPTIONS"),
        ("/v1/projections/programs/rebuild", "OPTIONS, POST"),
        ("/healthz", "GET, OPTIONS"),
    ],
)
async def test_options_lists_every_method_of_the_path(
    client: Client, path: str, methods: str
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == methods


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_documents_outage_and_deadline(operation: dict[str, Any]) -> None:
    # The database may be away and the request deadline applies to every route (503); a body
    # that does not arrive in time is 408.
    assert "503" in operation["responses"]
    if "requestBody" in operation:
        assert "408" in operation["responses"]
