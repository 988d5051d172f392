"""Server-Sent Events: a projection's changes as CloudEvents, replayed then live, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from datetime import time as clock
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from projections.facts import PROJECTIONS
from service.auth import require
from service.openapi import problem_responses
from service.problems import DATABASE_DOWN, problem

POLL_SECONDS = 1.0
FILTERS = ("program", "party", "lease", "mission", "agreement", "organization")
_OWN_KEY = {
    "programs": "program", "memberships": "program", "leases": "lease", "missions": "mission",
    "agreements": "agreement", "organizations": "organization", "parties": "party",
}  # fmt: skip

_PLURAL = {"party": "parties"}

_CHANGES = """
SELECT c.seq, c.entity, c.op, c.row, c.position, c.recorded_at,
       e.effective_lower, e.effective_upper
FROM projection_changes c LEFT JOIN events e ON e.position = c.position
WHERE c.projection = $1 AND c.seq > $2 ORDER BY c.seq LIMIT 500
"""


class CloudEvent(msgspec.Struct, frozen=True, omit_defaults=True, rename={"data_": "data"}):
    """A CloudEvents 1.0 JSON event; ``recordedtime`` and ``sequence`` are extensions."""

    id: str
    source: str
    type: str
    subject: str
    recordedtime: datetime
    sequence: str
    specversion: str
    datacontenttype: str
    time: datetime | None = None
    data_: msgspec.Raw | None = None


def cloud_event(projection: str, row: Any) -> CloudEvent:
    """A change row as a CloudEvent; ``time`` only when the causing event's date is exact."""
    exact = row["effective_lower"] is not None and row["effective_lower"] == row["effective_upper"]
    return CloudEvent(
        id=f"{projection}:{row['seq']}",
        source=f"/v1/projections/{projection}",
        type=f"accordlog.{projection}.{row['op']}",
        subject=row["entity"],
        recordedtime=row["recorded_at"],
        sequence=str(row["seq"]),
        specversion="1.0",
        datacontenttype="application/json",
        time=datetime.combine(row["effective_lower"], clock(), UTC) if exact else None,
        data_=row["row"],
    )


def matches(projection: str, entity: str, row: msgspec.Raw | None, wanted: dict[str, str]) -> bool:
    """A change passes a filter when its entity is the one named, or its view names it."""
    if not wanted:
        return True
    view = msgspec.json.decode(row) if row is not None else {}
    for key, value in wanted.items():
        if _OWN_KEY[projection] == key:
            if entity != value:
                return False
        elif view.get(key) != value and value not in view.get(_PLURAL.get(key, f"{key}s"), ()):
            members = view.get("members", ())
            if not (key == "party" and any(m.get("party") == value for m in members)):
                return False
    return True


@get(
    "/v1/projections/{name:str}/changes/stream",
    guards=[require("read")],
    responses=problem_responses(400, 401, 404),
    summary="Live changes as Server-Sent Events (CloudEvents 1.0), resumable with Last-Event-ID",
    include_in_schema=False,
)
async def stream_changes(
    request: Request[Any, Any, State],
    name: Annotated[str, PathParameter(max_length=50)],
    last_event_id: Annotated[
        str | None, HeaderParameter(name="Last-Event-ID", required=False, max_length=100)
    ] = None,
    after: Annotated[int | None, QueryParameter(ge=0, le=2**53)] = None,
    program: Annotated[str | None, QueryParameter(max_length=100)] = None,
    party: Annotated[str | None, QueryParameter(max_length=100)] = None,
    lease: Annotated[str | None, QueryParameter(max_length=100)] = None,
    mission: Annotated[str | None, QueryParameter(max_length=100)] = None,
    agreement: Annotated[str | None, QueryParameter(max_length=100)] = None,
    organization: Annotated[str | None, QueryParameter(max_length=100)] = None,
) -> ServerSentEvent:
    """Replays changes after the cursor (``Last-Event-ID`` wins over ``after``), then follows."""
    if name not in PROJECTIONS:
        raise problem(404, "not-found", f"no projection {name!r}; known: {', '.join(PROJECTIONS)}")
    cursor = _cursor(name, last_event_id, after)
    values = (program, party, lease, mission, agreement, organization)
    wanted = {key: value for key, value in zip(FILTERS, values, strict=True) if value is not None}
    return ServerSentEvent(_follow(request, name, cursor, wanted))


def _cursor(name: str, last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None:
        return after or 0
    projection, _, seq = last_event_id.rpartition(":")
    if projection not in {"", name} or not seq.isdigit() or len(seq) > 15:
        raise problem(400, "invalid-parameter", f"Last-Event-ID: expected '{name}:<sequence>'",
                      invalid=[("Last-Event-ID", "not an event id of this stream")])  # fmt: skip
    return int(seq)


async def _follow(
    request: Request[Any, Any, State], name: str, cursor: int, wanted: dict[str, str]
) -> AsyncIterator[ServerSentEventMessage]:
    state = request.app.state
    quiet_since = time.monotonic()
    while True:
        waiter = state.notifier.waiter(name)
        try:
            rows = await state.pool.fetch(_CHANGES, name, cursor)
        except DATABASE_DOWN:
            # Keep the stream: the cursor is ours, so nothing is missed once the database is back.
            yield ServerSentEventMessage(data=None, comment="database unavailable; retrying")
            await asyncio.sleep(POLL_SECONDS)
            continue
        for row in rows:
            cursor = row["seq"]
            if matches(name, row["entity"], row["row"], wanted):
                event = cloud_event(name, row)
                yield ServerSentEventMessage(
                    data=msgspec.json.encode(event).decode(), id=event.id, event="change"
                )
                quiet_since = time.monotonic()
        if rows:
            continue
        if time.monotonic() - quiet_since >= state.settings.sse_keep_alive:
            yield ServerSentEventMessage(data=None, comment="keep-alive")
            quiet_since = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), POLL_SECONDS)


ROUTES = [stream_changes]
