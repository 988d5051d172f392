"""OpenAPI pieces litestar cannot infer: the event body (parsed by hand) and problem responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Operation, RequestBody
from litestar.openapi.spec.media_type import OpenAPIMediaType

from events.catalogue import EVENT_TYPES
from events.envelope import Source
from events.vocabulary import Edtf

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemDoc(msgspec.Struct):
    """RFC 9457 problem details as accordlog sends them."""

    type: str
    title: str
    status: int
    detail: str


# Any route may answer 503: the database is away, or the request deadline passed. A route that
# reads a body may also answer 408 (the body did not arrive in time).
ALWAYS = (503,)
WITH_BODY = (408,)


def problem_responses(*statuses: int, body: bool = False) -> dict[int, ResponseSpec]:
    """Documented error responses, with the problem+json media type they really have."""
    statuses = tuple(sorted({*statuses, *ALWAYS, *(WITH_BODY if body else ())}))
    return {
        status: ResponseSpec(
            data_container=ProblemDoc,
            description="Problem details (RFC 9457)",
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _schema_of(kind: Any) -> dict[str, Any]:
    schema = msgspec.json.schema(kind)
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


def _event_schema(tag: str, cls: type) -> dict[str, Any]:
    data = _schema_of(cls)
    data["properties"].pop("type", None)
    data["required"] = [name for name in data.get("required", []) if name != "type"]
    uuid = {"type": "string", "format": "uuid"}
    return {
        "type": "object",
        "title": tag,
        "additionalProperties": False,
        "required": ["type", "effective", "data"],
        "properties": {
            "type": {"const": tag},
            "id": {**uuid, "description": "client id, for idempotent retries"},
            "effective": _schema_of(Edtf),
            "reported_on": {"type": "string", "format": "date"},
            "source": _schema_of(Source),
            "corrects": {**uuid, "description": "the event this one replaces"},
            "data": data,
        },
    }


def _append_body() -> dict[str, Any]:
    one = {"oneOf": [_event_schema(tag, cls) for tag, cls in EVENT_TYPES.items()]}
    return {"oneOf": [one, {"type": "array", "minItems": 1, "items": one}]}


# Sent again as is, it is a retry: 200 with the original result.
_EXAMPLE_EVENT = {
    "type": "program.established",
    "id": "5f0c2a8e-7d3b-4c1e-9a6f-2b8d4e1c7a90",
    "effective": "2024-05",
    "source": {"title": "An example announcement", "url": "https://example.org/news"},
    "data": {"program": "example-program", "name": "An example program", "led_by": ["KZ"]},
}


@dataclass
class AppendOperation(Operation):
    """``POST /v1/events`` parses its body itself; document it here."""

    def __post_init__(self) -> None:
        media = OpenAPIMediaType(
            schema=_append_body(),  # type: ignore[arg-type]
            examples={"one event": Example(value=_EXAMPLE_EVENT)},
        )
        self.request_body = RequestBody(
            content={"application/json": media},
            description="One event, or an array of events appended atomically",
            required=True,
        )
