"""The projector against a real PostgreSQL: gap-free tailing, rebuild beside, failover."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio

from events.store import EventStore
from projections import queries
from projections.projector import Projector
from projections.store import checkpoint, ensure_state
from service.database import create_pool
from tests.conftest import fresh_database
from tests.factories import established, new_events, signed
from tests.horizon import below_horizon


@pytest.fixture(scope="module")
def own_dsn(server_dsn: str) -> Iterator[str]:
    """A database of this module's own: no other projector runs on it."""
    yield from fresh_database(server_dsn)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_pool(own_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(own_dsn, 6)
    await ensure_state(pool)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def projector(own_pool: asyncpg.Pool, own_dsn: str) -> AsyncIterator[Projector]:
    """A projector for `programs` that this test drives by hand (it holds the lock)."""
    projector = Projector(own_pool, own_dsn, ["programs"], batch_size=7)
    await _take_lock(projector)
    try:
        yield projector
    finally:
        await projector.release()


async def _take_lock(projector: Projector, seconds: float = 20) -> None:
    """A killed projector's lock may linger a moment: wait until the lock is ours."""
    for _ in range(int(seconds * 10)):
        await projector.acquire()
        if projector.active:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("could not take the projection lock")


async def members_of(pool: asyncpg.Pool, program: str) -> set[str]:
    snapshot = await queries.read(pool, "programs", program)
    return {f.event.party for f in snapshot.facts.get(program, []) if hasattr(f.event, "party")}


async def test_projector_waits_for_a_late_commit(
    own_pool: asyncpg.Pool, projector: Projector, slug: str
) -> None:
    pool = own_pool
    store = EventStore(pool)
    await store.append(new_events(established(slug)))
    await projector.catch_up("programs")
    held = await pool.acquire()
    transaction = held.transaction()
    await transaction.start()
    try:
        await held.execute("SELECT pg_current_xact_id()")  # takes a transaction id first
        await store.append(new_events(signed(slug, "RU")))  # commits while `held` is open
        await projector.catch_up("programs")
        assert await members_of(pool, slug) == set()  # stops below the open transaction
    finally:
        await transaction.commit()
        await pool.release(held)
    await below_horizon(pool, f"program-{slug}")
    await projector.catch_up("programs")
    assert await members_of(pool, slug) == {"RU"}


async def test_checkpoint_moves_with_the_rows(
    own_pool: asyncpg.Pool, projector: Projector, slug: str
) -> None:
    pool = own_pool
    store = EventStore(pool)
    result = await store.append(new_events(established(slug), signed(slug, "KZ")))
    await below_horizon(pool, f"program-{slug}")
    await projector.catch_up("programs")
    state = await checkpoint(pool, "programs")
    applied = await pool.fetchval(
        "SELECT ($1::xid8, $2::bigint) >= (transaction_id, position) "
        "FROM events WHERE position = $3",
        state.xid, state.position, result.position,
    )  # fmt: skip
    assert applied
    await queries.wait_for_position(pool, "programs", result.position, 0)


async def test_rebuild_builds_beside_and_swaps(
    own_pool: asyncpg.Pool, projector: Projector, slug: str
) -> None:
    pool = own_pool
    store = EventStore(pool)
    await store.append(new_events(established(slug), signed(slug, "KZ"), signed(slug, "RU")))
    await projector.catch_up("programs")
    before = await checkpoint(pool, "programs")
    reads: list[set[str]] = []

    async def keep_reading() -> None:
        while True:
            reads.append(await members_of(pool, slug))
            await asyncio.sleep(0)

    reader = asyncio.create_task(keep_reading())
    try:
        await projector.rebuild("programs")
    finally:
        reader.cancel()
    after = await checkpoint(pool, "programs")
    assert after.generation == before.generation + 1
    assert (after.xid, after.position) >= (before.xid, before.position)
    assert reads and all(r == {"KZ", "RU"} for r in reads)  # never dark, never partial
    assert await members_of(pool, slug) == {"KZ", "RU"}
    old = await pool.fetchval(
        "SELECT count(*) FROM projection_facts WHERE projection = 'programs' AND generation = $1",
        before.generation,
    )
    assert old == 0


PROJECT = """
import asyncio, sys
from service.database import create_pool
from projections.projector import Projector
async def main():
    pool = await create_pool(sys.argv[1], 2)
    await Projector(pool, sys.argv[1], ["missions"], poll_interval=0.2).run(asyncio.Event())
asyncio.run(main())
"""


async def lock_holder(pool: asyncpg.Pool) -> str | None:
    holder: str | None = await pool.fetchval(
        """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"""
    )
    return holder


async def test_failover_between_two_processes(
    own_pool: asyncpg.Pool, own_dsn: str, slug: str
) -> None:
    pool = own_pool
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sep = "&" if "?" in own_dsn else "?"
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROJECT, f"{own_dsn}{sep}application_name=first", env=env
    )
    for _ in range(100):
        if await lock_holder(pool) == "first":
            break
        await asyncio.sleep(0.1)
    second = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROJECT, f"{own_dsn}{sep}application_name=second", env=env
    )
    store = EventStore(pool)
    try:
        mission = {"type": "mission.announced", "effective": "2024", "id": None,
                   "data": {"mission": slug, "name": "M", "planned": "2026~"}}  # fmt: skip
        import uuid

        mission["id"] = str(uuid.uuid4())
        result = await store.append(new_events(mission))
        await queries.wait_for_position(pool, "missions", result.position, 10)
        assert await lock_holder(pool) == "first"
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 10)
        moved = {"type": "mission.rescheduled", "effective": "2025", "id": str(uuid.uuid4()),
                 "data": {"mission": slug, "planned": "2027"}}  # fmt: skip
        result = await store.append(new_events(moved))
        await queries.wait_for_position(pool, "missions", result.position, 15)
        assert await lock_holder(pool) == "second"
        snapshot = await queries.read(pool, "missions", slug)
        assert [f.event.type_name() for f in snapshot.facts[slug]] == [
            "mission.announced", "mission.rescheduled",
        ]  # fmt: skip
    finally:
        for process in (first, second):
            if process.returncode is None:
                process.kill()
                await asyncio.wait_for(process.wait(), 10)


async def test_applied_changes_wake_listeners(
    own_pool: asyncpg.Pool, own_dsn: str, projector: Projector, slug: str
) -> None:
    listener = await asyncpg.connect(own_dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("accordlog_changes", lambda *args: heard.put_nowait(args[-1]))
    try:
        await EventStore(own_pool).append(new_events(established(slug)))
        await below_horizon(own_pool, f"program-{slug}")
        await projector.catch_up("programs")
        assert await asyncio.wait_for(heard.get(), 5) == "programs"
        change = await own_pool.fetchrow(
            "SELECT op, entity FROM projection_changes WHERE projection = 'programs' "
            "ORDER BY seq DESC LIMIT 1"
        )
        assert (change["op"], change["entity"]) == ("upsert", slug)
    finally:
        await listener.close()
