"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, get
from litestar.datastructures import State

from service.openapi import problem_responses
from service.problems import problem


@get("/healthz", responses=problem_responses(), summary="The process is up")
async def healthz() -> dict[str, str]:
    """Answers as long as the process serves HTTP."""
    return {"status": "ok"}


@get("/readyz", responses=problem_responses(503), summary="Ready to serve: the database answers")
async def readyz(request: Request[Any, Any, State]) -> dict[str, str | int]:
    """200 when the database (and the read replica, if any) answers within two seconds, else 503.

    With READ_DATABASE_URL, ``replica`` is "ok" and ``replica_lag_bytes`` is how much write-ahead
    log the replica has yet to replay (absent when the read database is not a standby).
    """
    state = request.app.state
    try:
        await asyncio.wait_for(state.pool.fetchval("SELECT 1"), timeout=2)
    except Exception:
        raise problem(
            503, "not-ready", "the database does not answer", headers={"Retry-After": "2"}
        ) from None
    ready: dict[str, str | int] = {"status": "ready", "database": "ok"}
    if state.read_pool is not state.pool:
        try:
            ready |= await asyncio.wait_for(_replica(state), timeout=2)
        except Exception:
            raise problem(
                503, "not-ready", "the read replica does not answer", headers={"Retry-After": "2"}
            ) from None
    return ready


async def _replica(state: State) -> dict[str, str | int]:
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
