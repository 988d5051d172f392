"""SSE against a real server process: live changes, a dropped connection, a resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_sse import aconnect_sse

from service.auth import create_token
from tests.e2e.test_serve import free_port, wait_ready
from tests.factories import established, signed


@pytest.fixture
def server(database_dsn: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_dsn, "ACCORDLOG_PORT": str(port),
           "ACCORDLOG_DEMO": "0", "ACCORDLOG_SSE_KEEPALIVE_MS": "300", "CI": "true"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


async def changes(
    client: httpx.AsyncClient, url: str, count: int, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Read ``count`` change events, then drop the connection."""
    received: list[dict[str, Any]] = []

    async def read() -> None:
        async with aconnect_sse(client, "GET", url, headers=headers or {}) as source:
            async for sse in source.aiter_sse():
                if sse.event == "change":
                    received.append({"sse_id": sse.id, **json.loads(sse.data)})
                    if len(received) == count:
                        return

    await asyncio.wait_for(read(), 30)
    return received


async def test_sse_live_then_resume_after_a_drop(
    server: str, pool: asyncpg.Pool, slug: str
) -> None:
    token = await create_token(pool, ["write"], "sse test")
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{server}/v1/projections/programs/changes/stream?program={slug}"
    async with httpx.AsyncClient(timeout=30) as client:
        reader = asyncio.create_task(changes(client, url, 1))
        await asyncio.sleep(0.5)
        batch = [established(slug), signed(slug, "KZ")]
        posted = await client.post(f"{server}/v1/events", json=batch, headers=auth)
        assert posted.status_code == 201
        [first] = await reader  # live, then the connection drops
        assert first["specversion"] == "1.0" and first["subject"] == slug
        assert first["type"] == "accordlog.programs.upsert"
        assert first["data"]["member_count"] == 1 and first["id"] == first["sse_id"]
        assert first["sequence"] and first["recordedtime"]

        for party in ("RU", "CN"):  # while nobody listens
            response = await client.post(
                f"{server}/v1/events", json=signed(slug, party), headers=auth
            )
            position = response.json()["position"]
            await client.get(f"{server}/v1/programs/{slug}", params={"min_position": position})
        resumed = await changes(client, url, 2, {"Last-Event-ID": first["id"]})
        assert [c["data"]["member_count"] for c in resumed] == [2, 3]
        ids = [first["id"], *(c["id"] for c in resumed)]
        assert len(set(ids)) == 3
        assert [int(c["sequence"]) for c in resumed] == sorted(int(c["sequence"]) for c in resumed)
        assert all(int(c["sequence"]) > int(first["sequence"]) for c in resumed)
        bad = await client.get(url, headers={"Last-Event-ID": "garbage"})
        assert bad.status_code == 400


async def test_keep_alive_comments_on_a_quiet_stream(server: str) -> None:
    url = f"{server}/v1/projections/organizations/changes/stream?organization=nothing-here"

    async def first_comment() -> str:
        async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    return line
        return ""

    assert await asyncio.wait_for(first_comment(), 10) == ": keep-alive"
