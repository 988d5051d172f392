"""What operators see: request ids and access logs, Prometheus metrics, projector health.

Request metrics (count, duration, errors by grouped path) come from litestar's Prometheus
middleware. The figures that live in the database (log head, projection lag, webhook queue,
which projections have an active projector anywhere) are read when Prometheus scrapes, so every
replica reports the same truth and nothing is counted twice.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from projections.facts import PROJECTIONS
from projections.projector import lock_key
from service.limits import ASGIApp, Message, Receive, Send
from service.logs import REQUEST_ID

log = logging.getLogger("accordlog.access")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

APPENDED = Counter("accordlog_events_appended", "Events appended by this process")
LOG_HEAD = Gauge("accordlog_log_head_position", "Highest position in the event log")
LAG = Gauge("accordlog_projection_lag_events", "Events not yet applied (capped)", ["projection"])
CHECKPOINT = Gauge("accordlog_projection_checkpoint_position", "Checkpoint", ["projection"])
ACTIVE = Gauge(
    "accordlog_projection_active", "1 when some process holds the projector lock", ["projection"]
)
WEBHOOK_QUEUE = Gauge("accordlog_webhook_deliveries", "Webhook deliveries by status", ["status"])
DATABASE_UP = Gauge("accordlog_database_up", "1 when the database answered the last scrape")

LAG_CAP = 100_000
# Events past a projection's checkpoint (``s``, a projection_state row), counted up to the cap.
LAG_SQL = f"""(SELECT count(*) FROM (
            SELECT 1 FROM events e
            WHERE (e.transaction_id, e.position) > (s.checkpoint_xid, s.checkpoint_position)
            LIMIT {LAG_CAP}) AS behind)"""
STATUS_SQL = f"""
SELECT s.name, s.checkpoint_position, {LAG_SQL} AS lag,
       EXISTS (SELECT 1 FROM pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                     SELECT oid FROM pg_database WHERE datname = current_database())
                 AND ((l.classid::bigint << 32) | l.objid::bigint) = k.key) AS active
FROM projection_state s
JOIN unnest($1::text[], $2::bigint[]) AS k (name, key) ON k.name = s.name
ORDER BY s.name
"""


async def projection_health(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Per projection: checkpoint, lag (capped) and whether any process is projecting it."""
    names = list(PROJECTIONS)
    keys = [lock_key(name) for name in names]
    rows: list[asyncpg.Record] = await pool.fetch(STATUS_SQL, names, keys)
    return rows


async def scrape(pool: asyncpg.Pool) -> None:
    """Refresh the database-backed gauges (left as they were when the database is away)."""
    try:
        async with pool.acquire(timeout=2) as connection:
            head = await connection.fetchval("SELECT coalesce(max(position), 0) FROM events")
            queue = await connection.fetch(
                "SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status"
            )
        health = await projection_health(pool)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        DATABASE_UP.set(0)
        return
    DATABASE_UP.set(1)
    LOG_HEAD.set(head)
    counts = {row["status"]: row["n"] for row in queue}
    for status in ("pending", "delivered", "dead", "disabled"):
        WEBHOOK_QUEUE.labels(status).set(counts.get(status, 0))
    for row in health:
        LAG.labels(row["name"]).set(row["lag"])
        CHECKPOINT.labels(row["name"]).set(row["checkpoint_position"])
        ACTIVE.labels(row["name"]).set(1 if row["active"] else 0)


class RequestContext:
    """ASGI middleware: a request id for every request (``X-Request-ID`` in and out), put on
    every log line written while serving it, and one structured access log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        began, status = time.perf_counter(), 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]  # fmt: skip
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra={"method": scope["method"], "path": scope["path"], "status": status,
                       "duration_ms": round((time.perf_counter() - began) * 1000, 2)},
            )  # fmt: skip
            REQUEST_ID.reset(token)


def _header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
