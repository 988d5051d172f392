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
async def readyz(request: Request[Any, Any, State]) -> dict[str, str]:
    """200 when the database answers within two seconds, else 503."""
    try:
        await asyncio.wait_for(request.app.state.pool.fetchval("SELECT 1"), timeout=2)
    except Exception:
        raise problem(
            503, "not-ready", "the database does not answer", headers={"Retry-After": "2"}
        ) from None
    return {"status": "ready", "database": "ok"}


ROUTES = [healthz, readyz]
