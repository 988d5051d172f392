"""Projection status and admin rebuilds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from projections.facts import PROJECTIONS
from service.auth import require
from service.observability import LAG_SQL
from service.openapi import problem_responses
from service.problems import problem

ProjectionName = Annotated[str, PathParameter(max_length=50, examples=[Example(value="programs")])]


class ProjectionStatus(msgspec.Struct, frozen=True):
    name: str
    checkpoint: int
    lag: int
    status: str
    generation: int
    applied_events: int


class ProjectionList(msgspec.Struct, frozen=True):
    projections: list[ProjectionStatus]


_STATUS = f"""
SELECT s.name, s.checkpoint_position, s.status, s.generation, s.applied_events, {LAG_SQL} AS lag
FROM projection_state s ORDER BY s.name
"""


@get(
    "/v1/projections",
    guards=[require("read")],
    responses=problem_responses(401),
    summary="Each projection's checkpoint, lag (events behind, capped at 100000) and status",
)
async def list_projections(request: Request[Any, Any, State]) -> ProjectionList:
    """Where each projection stands."""
    rows = await request.app.state.pool.fetch(_STATUS)
    return ProjectionList([
        ProjectionStatus(r["name"], r["checkpoint_position"], r["lag"], r["status"],
                         r["generation"], r["applied_events"])
        for r in rows
    ])  # fmt: skip


@post(
    "/v1/projections/{name:str}/rebuild",
    guards=[require("admin")],
    status_code=202,
    responses=problem_responses(400, 401, 403, 404, 429),
    summary="Rebuild a projection beside the live one",
)
async def rebuild(
    request: Request[Any, Any, State], name: ProjectionName
) -> Response[dict[str, str]]:
    """The active projector rebuilds it into a new generation and swaps; reads go on meanwhile."""
    if name not in PROJECTIONS:
        raise problem(404, "not-found", f"no projection {name!r}; known: {', '.join(PROJECTIONS)}")
    await request.app.state.pool.execute(
        "UPDATE projection_state SET rebuild_requested = true WHERE name = $1", name
    )
    await request.app.state.pool.execute("SELECT pg_notify('accordlog_events', '')")
    return Response({"projection": name, "status": "rebuild requested"}, status_code=202)


class Change(msgspec.Struct, frozen=True):
    """One change of a projection: the entity's new view (``upsert``) or its removal."""

    seq: int
    entity: str
    op: str
    row: msgspec.Raw | None
    position: int
    recorded_at: datetime


_CHANGES_PAGE = """
SELECT seq, entity, op, row, position, recorded_at FROM projection_changes
WHERE projection = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""
_CHANGES_TAIL = _CHANGES_PAGE.replace("ORDER BY seq", "ORDER BY seq DESC")
TAIL = "the last `limit` changes after the cursor instead of the first, still in sequence order"


class ChangePage(msgspec.Struct, frozen=True):
    """A page of changes; pass ``next_after`` as ``after`` for the next one."""

    projection: str
    changes: list[Change]
    next_after: int


@get(
    "/v1/projections/{name:str}/changes",
    guards=[require("read")],
    responses=problem_responses(400, 401, 404),
    summary="Pull feed of a projection's changes, in sequence order",
)
async def list_changes(
    request: Request[Any, Any, State],
    name: ProjectionName,
    after: Annotated[int, QueryParameter(ge=0, le=2**53)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1_000)] = 100,
    tail: Annotated[bool, QueryParameter(description=TAIL)] = False,
) -> ChangePage:
    """Changes with ``seq`` greater than ``after``; sequence numbers never fill in later."""
    if name not in PROJECTIONS:
        raise problem(404, "not-found", f"no projection {name!r}; known: {', '.join(PROJECTIONS)}")
    rows = await request.app.state.pool.fetch(
        _CHANGES_TAIL if tail else _CHANGES_PAGE, name, after, limit
    )
    changes = [Change(*row.values()) for row in (reversed(rows) if tail else rows)]
    return ChangePage(name, changes, changes[-1].seq if changes else after)


ROUTES = [list_projections, list_changes, rebuild]
