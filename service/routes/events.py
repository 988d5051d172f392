"""The write path and the log: POST/GET /v1/events, GET /v1/events/{id}, GET /v1/streams/{s}."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from events.envelope import NewEvent, RecordedEvent, parse_batch
from events.store import AppendResult, EventStore
from service.auth import require
from service.observability import APPENDED
from service.openapi import AppendOperation, problem_responses
from service.problems import invalid_input, problem
from service.routes.options import options_for

MAX_CURSOR = 2**53
TAIL = "the last `limit` events after the cursor instead of the first, still in log order"
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,15})"?\s*$')


class AppendedOut(msgspec.Struct, frozen=True):
    id: UUID
    stream: str
    version: int
    position: int


class AppendOut(msgspec.Struct, frozen=True):
    """Where each event of the batch landed, and the highest position written."""

    events: list[AppendedOut]
    position: int


class LogPage(msgspec.Struct, frozen=True):
    """A page of the global log; pass ``next_after`` as ``after`` for the next page."""

    events: list[RecordedEvent]
    next_after: int


class StreamOut(msgspec.Struct, frozen=True):
    stream: str
    version: int
    events: list[RecordedEvent]


@post(
    "/v1/events",
    guards=[require("write")],
    operation_class=AppendOperation,
    responses={
        200: ResponseSpec(
            AppendOut, generate_examples=False, description="A retry: the original result"
        ),
        **problem_responses(400, 401, 403, 409, 412, 413, 422, 429, body=True),
    },
    summary="Append one event or an atomic batch",
)
async def append_events(
    request: Request[Any, Any, State],
    if_match: Annotated[str | None, HeaderParameter(name="If-Match", required=False)] = None,
    correlation_id: Annotated[
        str | None, HeaderParameter(name="X-Correlation-ID", required=False, max_length=200)
    ] = None,
) -> Response[AppendOut]:
    """Append events. A retry with the same ids and body returns the original result (200)."""
    state = request.app.state
    body = await request.body()
    _refuse_nul(body)
    batch = parse_batch(body, max_batch=state.settings.max_batch, today=datetime.now(UTC).date())
    if correlation_id:
        batch = [_correlated(new, correlation_id) for new in batch]
    store: EventStore = state.store
    result = await store.append(batch, expected_version=_expected_version(if_match))
    if result.created:
        APPENDED.inc(len(result.events))
    return Response(_append_out(result), status_code=201 if result.created else 200)


@get(
    "/v1/events",
    guards=[require("read")],
    responses=problem_responses(400, 401),
    summary="Read the global log in gap-free order",
)
async def read_log(
    request: Request[Any, Any, State],
    after: Annotated[int, QueryParameter(ge=0, le=MAX_CURSOR, description="position cursor")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1_000)] = 100,
    type: Annotated[
        str | None,
        QueryParameter(max_length=1_000, description="comma-separated event types"),
    ] = None,
    stream: Annotated[str | None, QueryParameter(max_length=200)] = None,
    tail: Annotated[bool, QueryParameter(description=TAIL)] = False,
) -> LogPage:
    """Events after the cursor, in the log's order: a reader never misses a late commit."""
    types = [t.strip() for t in type.split(",") if t.strip()] if type else None
    store: EventStore = request.app.state.store
    events = await store.read_log(after=after, limit=limit, types=types, stream=stream, tail=tail)
    return LogPage(events, events[-1].position if events else after)


@get(
    "/v1/events/{event_id:uuid}",
    guards=[require("read")],
    responses=problem_responses(400, 401, 404),
    summary="One event by id",
)
async def get_event(
    request: Request[Any, Any, State], event_id: Annotated[UUID, PathParameter()]
) -> RecordedEvent:
    """The event with this id, with its envelope."""
    store: EventStore = request.app.state.store
    event = await store.get(event_id)
    if event is None:
        raise problem(404, "not-found", f"no event with id {event_id}")
    return event


@get(
    "/v1/streams/{stream:str}",
    guards=[require("read")],
    responses={
        304: ResponseSpec(None, description="Not modified: the stream is still at If-None-Match"),
        **problem_responses(400, 401, 404),
    },
    summary="One stream, with its version as ETag",
)
async def get_stream(
    request: Request[Any, Any, State],
    stream: Annotated[str, PathParameter(max_length=200, examples=[Example(value="program-ilrs")])],
    if_none_match: Annotated[
        str | None, HeaderParameter(name="If-None-Match", required=False)
    ] = None,
) -> Response[StreamOut]:
    """Every event of the stream in order; ``ETag: "<version>"`` feeds ``If-Match``."""
    store: EventStore = request.app.state.store
    events = await store.read_stream(stream)
    if not events:
        raise problem(404, "not-found", f"no stream {stream!r}")
    version = events[-1].version
    etag = f'"{version}"'
    if if_none_match == etag:
        return Response(content=None, status_code=304, headers={"ETag": etag})  # type: ignore[arg-type]
    return Response(StreamOut(stream, version, events), headers={"ETag": etag})


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    match = _IF_MATCH.match(if_match)
    if match is None:
        raise problem(
            400,
            "invalid-parameter",
            'If-Match: expected a stream version as an entity tag, like "3" ("0": new stream)',
            invalid=[("If-Match", "not a version entity tag")],
        )
    return int(match.group(1))


def _refuse_nul(body: bytes) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: refuse it with the field that has it."""
    if b"\\u0000" not in body and b"\x00" not in body:
        return
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise invalid_input("$", f"malformed JSON: {error}", status=400) from None
    pointer = _nul_pointer(decoded, "$")
    if pointer is not None:
        raise invalid_input(pointer, "contains a NUL character (U+0000), which cannot be stored")


def _nul_pointer(value: object, at: str) -> str | None:
    if isinstance(value, str):
        return at if "\x00" in value else None
    if isinstance(value, dict):
        items = [(f"{at}.{k}", v) for k, v in value.items()]
        items += [(f"{at}.{k}", k) for k in value]
    elif isinstance(value, list):
        items = [(f"{at}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    return next((p for p in (_nul_pointer(v, a) for a, v in items) if p), None)


def _correlated(new: NewEvent, correlation_id: str) -> NewEvent:
    return replace(new, metadata={**new.metadata, "correlation_id": correlation_id})


def _append_out(result: AppendResult) -> AppendOut:
    events = [AppendedOut(e.id, e.stream, e.version, e.position) for e in result.events]
    return AppendOut(events, result.position)


# The OPTIONS handler first: see service.routes.options.
ROUTES = [options_for("/v1/events"), append_events, read_log, get_event, get_stream]
