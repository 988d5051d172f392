"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, get
from litestar.datastructures import State

from service.observability import projection_health
from service.openapi import problem_responses
from service.problems import problem


class ProjectionHealth(msgspec.Struct, frozen=True):
    lag: int  # events not yet applied (capped at 100000)
    active: bool  # some process, here or elsewhere, holds this projection's projector lock


class Readiness(msgspec.Struct, frozen=True, omit_defaults=True):
    """``ready``, or ``degraded`` when some projection has no active projector anywhere (reads
    are served, but that projection is not moving)."""

    status: str
    database: str
    projections: dict[str, ProjectionHealth] = {}
    replica: str | None = None
    replica_lag_bytes: int | None = None


@get("/healthz", responses=problem_responses(), summary="The process is up")
async def healthz() -> dict[str, str]:
    """Answers as long as the process serves HTTP."""
    return {"status": "ok"}


@get(
    "/readyz",
    responses=problem_responses(503),
    summary="Ready to serve: the database answers and the projector here is alive",
)
async def readyz(request: Request[Any, Any, State]) -> Readiness:
    """200 when the database (and the read replica, if any) answers within two seconds and this
    process's projector, if it runs one, has not stopped; else 503.

    With READ_DATABASE_URL, ``replica`` is "ok" and ``replica_lag_bytes`` is how much write-ahead
    log the replica has yet to replay (absent when the read database is not a standby).
    """
    state = request.app.state
    try:
        await asyncio.wait_for(state.pool.fetchval("SELECT 1"), timeout=2)
    except Exception:
        raise _not_ready("the database does not answer") from None
    for task, what in ((state.projector_task, "projector"), (state.webhook_task, "webhook worker")):
        if task is not None and task.done():
            raise _not_ready(f"this process's {what} has stopped; see the logs")
    try:
        # Counting a large backlog can be slow: that makes this answer degraded, never 503.
        health = await asyncio.wait_for(projection_health(state.pool), timeout=2)
    except Exception:
        health = []
    projections = {row["name"]: ProjectionHealth(row["lag"], row["active"]) for row in health}
    idle = not projections or any(not p.active for p in projections.values())
    ready = Readiness("degraded" if idle else "ready", "ok", projections)
    if state.read_pool is not state.pool:
        try:
            replica = await asyncio.wait_for(_replica(state), timeout=2)
        except Exception:
            raise _not_ready("the read replica does not answer") from None
        ready = msgspec.structs.replace(ready, **replica)
    return ready


def _not_ready(detail: str) -> Exception:
    return problem(503, "not-ready", detail, headers={"Retry-After": "2"})


async def _replica(state: State) -> dict[str, Any]:
    replayed = await state.read_pool.fetchval(
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END"
    )
    if replayed is None:
        return {"replica": "ok"}
    lag = await state.pool.fetchval(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint", replayed
    )
    return {"replica": "ok", "replica_lag_bytes": max(lag, 0)}


ROUTES = [healthz, readyz]
