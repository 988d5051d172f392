"""Races over real HTTP against a server process: one winner per version, retries never doubled."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from service.auth import create_token
from tests.e2e.test_serve import free_port
from tests.e2e.test_webhooks import started
from tests.factories import COUNTRIES, established, signed

ROUNDS = 5
RACERS = 8


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(
    database_dsn: str, pool: asyncpg.Pool
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    port = free_port()
    process = await started(database_dsn, port, ACCORDLOG_WRITE_RATE="0")
    try:
        token = await create_token(pool, ["write"], "racer")
        yield f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


async def race(
    base: str, auth: dict[str, str], bodies: list[Any], if_match: str | None = None
) -> list[httpx.Response]:
    """Send every body at once, each on its own connection."""
    headers = {**auth, **({"If-Match": if_match} if if_match else {})}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        return list(
            await asyncio.gather(
                *(client.post(f"{base}/v1/events", headers=headers, json=b) for b in bodies)
            )
        )


async def test_one_winner_per_expected_version(
    server: tuple[str, dict[str, str]], pool: asyncpg.Pool, slug: str
) -> None:
    base, auth = server
    (first,) = await race(base, auth, [established(slug)])
    assert first.status_code == 201
    parties = iter(COUNTRIES)  # never a member twice
    for version in range(1, ROUNDS + 1):
        bodies = [signed(slug, next(parties)) for _ in range(RACERS)]
        responses = await race(base, auth, bodies, if_match=f'"{version}"')
        statuses = Counter(r.status_code for r in responses)
        assert statuses == Counter({201: 1, 412: RACERS - 1}), statuses
        losers = [r.json() for r in responses if r.status_code == 412]
        assert {p["type"] for p in losers} == {"/problems/version-mismatch"}
        assert {p["actual"] for p in losers} == {version + 1}
    versions = await pool.fetch(
        "SELECT version FROM events WHERE stream = $1 ORDER BY version", f"program-{slug}"
    )
    assert [r["version"] for r in versions] == list(range(1, ROUNDS + 2))


async def test_racing_retries_store_a_batch_once(
    server: tuple[str, dict[str, str]], pool: asyncpg.Pool, slug: str
) -> None:
    base, auth = server
    batch = [established(slug), signed(slug, "KZ"), signed(slug, "RU")]
    responses = await race(base, auth, [batch] * 10)
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.text for r in responses}) == 1  # every retry sees the original result
    stored = await pool.fetchval("SELECT count(*) FROM events WHERE stream = $1", f"program-{slug}")
    assert stored == 3


async def test_one_id_with_different_bodies_racing(
    server: tuple[str, dict[str, str]], pool: asyncpg.Pool, slug: str
) -> None:
    base, auth = server
    await race(base, auth, [established(slug)])
    first = signed(slug, "KZ")
    bodies = [{**first, "data": {**first["data"], "party": party}} for party in ("KZ", "RU", "CN")]
    racing = bodies * 3
    responses = await race(base, auth, racing)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 200: 2, 409: 6}), statuses
    kept = await pool.fetch(
        "SELECT data->>'party' AS party FROM events WHERE id = $1::uuid", first["id"]
    )
    won = {racing[i]["data"]["party"] for i, r in enumerate(responses) if r.status_code < 300}
    assert [row["party"] for row in kept] == list(won)
