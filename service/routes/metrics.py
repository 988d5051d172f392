"""Prometheus metrics: request figures by grouped path, plus the database-backed gauges."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from service.observability import scrape


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, State]) -> Response[bytes]:
    """The Prometheus text format. Open like /healthz: it reveals counts, never content."""
    await scrape(request.app.state.pool)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


ROUTES = [metrics]
