"""A server killed with SIGKILL under write load: nothing acknowledged is lost or doubled.

Given eight clients appending atomic batches (several streams per batch) to a real server
process, when the process is killed mid-load and started again, then every acknowledged event
is stored exactly once, every unacknowledged batch is stored whole or not at all, and the
projections the restarted projector arrives at equal a full rebuild.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from service.auth import create_token
from service.database import as_role
from tests.conftest import fresh_database
from tests.e2e.test_serve import free_port
from tests.e2e.test_webhooks import started, until
from tests.factories import COUNTRIES, established, signed

WRITERS = 8
ACKED_BEFORE_KILL = 60
CHECKED = ("programs", "memberships", "parties")


@dataclass
class Attempt:
    ids: list[str]
    acked: bool = False


@pytest.fixture
def crash_dsn(server_dsn: str) -> Iterator[str]:
    """A database of its own, so every stored event is one this test sent."""
    yield from fresh_database(server_dsn)


async def write_until_refused(
    client: httpx.AsyncClient, base: str, auth: dict[str, str], writer: int, log: list[Attempt]
) -> None:
    """Two programs per writer; batches sign 1-4 countries across both, in one transaction."""
    chooser = random.Random(writer)
    programs = [f"crash-{writer}-a", f"crash-{writer}-b"]
    pending = [(program, party) for program in programs for party in COUNTRIES]
    chooser.shuffle(pending)
    batches = [[established(p) for p in programs]]
    while pending:
        batches.append([signed(*pending.pop()) for _ in range(min(len(pending), 4))])
    for batch in batches:
        attempt = Attempt([event["id"] for event in batch])
        log.append(attempt)
        try:
            response = await client.post(f"{base}/v1/events", headers=auth, json=batch)
        except httpx.TransportError:
            return  # the server is gone: this batch's fate is unknown to the client
        assert response.status_code == 201, response.text
        attempt.acked = True


async def pointers(pool: asyncpg.Pool) -> dict[str, set[tuple[str, int]]]:
    """Each checked projection's live (entity, position) pointers."""
    rows = await pool.fetch(
        "SELECT f.projection, f.entity, f.position FROM projection_facts f "
        "JOIN projection_state s ON s.name = f.projection AND s.generation = f.generation "
        "WHERE f.projection = ANY($1::text[])",
        list(CHECKED),
    )
    found: dict[str, set[tuple[str, int]]] = {name: set() for name in CHECKED}
    for row in rows:
        found[row["projection"]].add((row["entity"], row["position"]))
    return found


async def caught_up(client: httpx.AsyncClient, base: str, generations: dict[str, int]) -> bool:
    states = (await client.get(f"{base}/v1/projections")).json()["projections"]
    return all(
        s["lag"] == 0 and s["generation"] > generations.get(s["name"], 0)
        for s in states
        if s["name"] in CHECKED
    )


async def test_sigkill_under_load_loses_no_acknowledged_event(crash_dsn: str, app_dsn: str) -> None:
    pool = await asyncpg.create_pool(crash_dsn, min_size=1, max_size=2)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    as_app = {"ACCORDLOG_APP_DATABASE_URL": as_role(crash_dsn), "ACCORDLOG_WRITE_RATE": "0"}
    server = await started(crash_dsn, port, **as_app)
    log: list[Attempt] = []
    try:
        auth = {"Authorization": f"Bearer {await create_token(pool, ['admin'], 'crash')}"}
        async with httpx.AsyncClient(timeout=10) as client:
            writers = [
                asyncio.create_task(write_until_refused(client, base, auth, w, log))
                for w in range(WRITERS)
            ]

            async def enough_acked() -> bool:
                return sum(a.acked for a in log) >= ACKED_BEFORE_KILL

            await until(enough_acked)
            server.send_signal(signal.SIGKILL)
            server.wait(30)
            await asyncio.wait_for(asyncio.gather(*writers), 30)
        in_flight = [a for a in log if not a.acked]
        assert in_flight, "the kill should catch batches in flight"

        restarted = await started(crash_dsn, port := free_port(), **as_app)
        base = f"http://127.0.0.1:{port}"
        try:
            await check_after_restart(pool, base, auth, log)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
        await pool.close()


async def check_after_restart(
    pool: asyncpg.Pool, base: str, auth: dict[str, str], log: list[Attempt]
) -> None:
    stored = {
        str(row["id"]): row["n"]
        for row in await pool.fetch("SELECT id, count(*) AS n FROM events GROUP BY id")
    }
    sent = {event_id for attempt in log for event_id in attempt.ids}
    assert set(stored) <= sent, "the log holds events nobody sent"
    assert all(n == 1 for n in stored.values())
    for attempt in log:
        kept = sum(event_id in stored for event_id in attempt.ids)
        if attempt.acked:
            assert kept == len(attempt.ids), "an acknowledged event was lost"
        else:
            assert kept in (0, len(attempt.ids)), "a batch was stored in part"

    async with httpx.AsyncClient(timeout=30) as client:
        await until(lambda: caught_up(client, base, {}), seconds=60)
        incremental = await pointers(pool)
        views = await program_views(client, base)
        generations = {
            s["name"]: s["generation"]
            for s in (await client.get(f"{base}/v1/projections")).json()["projections"]
        }
        for name in CHECKED:
            response = await client.post(f"{base}/v1/projections/{name}/rebuild", headers=auth)
            assert response.status_code == 202
        await until(lambda: caught_up(client, base, generations), seconds=60)
        assert await pointers(pool) == incremental
        assert await program_views(client, base) == views
    signings = await pool.fetch(
        "SELECT stream, count(*) AS n FROM events WHERE type = 'membership.signed' GROUP BY stream"
    )
    assert {r["stream"].removeprefix("program-"): r["n"] for r in signings} == {
        program: view["member_count"] for program, view in views.items() if view.get("member_count")
    }


async def program_views(client: httpx.AsyncClient, base: str) -> dict[str, dict[str, Any]]:
    """Every crash program's view and member list, without the fields that name the moment."""
    views: dict[str, dict[str, Any]] = {}
    for writer in range(WRITERS):
        for program in (f"crash-{writer}-a", f"crash-{writer}-b"):
            view = (await client.get(f"{base}/v1/programs/{program}")).json()
            members = (await client.get(f"{base}/v1/programs/{program}/members")).json()
            for shown in (view, members):
                for moment in ("as_of", "known_at", "position"):
                    shown.pop(moment, None)
            views[program] = {**view, "members": members}
    return views
