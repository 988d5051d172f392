"""Per-token write rate limits: 429 with Retry-After, nothing stored, other tokens unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.auth import create_token
from service.settings import Settings
from tests.api.conftest import Client
from tests.factories import established


@pytest_asyncio.fixture(loop_scope="session")
async def limited(database_dsn: str) -> AsyncIterator[Client]:
    settings = Settings(write_rate=1, write_burst=2, run_projector=False, run_webhook_worker=False)
    app = create_app(settings, dsn=database_dsn, run_migrations=False)
    async with AsyncTestClient(app) as client:
        yield client


async def test_a_token_over_its_write_rate_gets_429_and_nothing_is_stored(
    limited: Client, pool: asyncpg.Pool, slug: str
) -> None:
    noisy = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'noisy')}"}
    quiet = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'quiet')}"}
    statuses = [
        (await limited.post("/v1/events", json=established(f"{slug}-{n}"), headers=noisy))
        for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 429]
    refused = statuses[2]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    stored = await pool.fetchval(
        "SELECT count(*) FROM events WHERE stream = $1", f"program-{slug}-2"
    )
    assert stored == 0
    other = await limited.post("/v1/events", json=established(f"{slug}-q"), headers=quiet)
    assert other.status_code == 201  # buckets are per token
    read = await limited.get(f"/v1/streams/program-{slug}-0", headers=noisy)
    assert read.status_code == 200  # reads are never rate limited
