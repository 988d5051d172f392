"""The global log never skips an event whose transaction commits late."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from events.envelope import RecordedEvent
from events.errors import UnknownCursor
from events.store import EventStore
from tests.factories import established, new_events


async def read_all(store: EventStore, after: int) -> tuple[list[RecordedEvent], int]:
    """Page through the log from ``after`` to the current end; return events and cursor."""
    seen: list[RecordedEvent] = []
    while page := await store.read_log(after=after, limit=3):
        seen += page
        after = page[-1].position
    return seen, after


async def test_a_late_commit_is_delivered_exactly_once(pool: asyncpg.Pool, slug: str) -> None:
    store = EventStore(pool)
    await store.append(new_events(established(f"{slug}-before")))
    _, cursor = await read_all(store, 0)

    held = await pool.acquire()
    transaction = held.transaction()
    await transaction.start()
    # This insert takes a position now but commits only after the others below.
    late = new_events(established(f"{slug}-late"))
    await EventStore(_OneConnection(held)).append(late)
    try:
        for n in range(3):
            await store.append(new_events(established(f"{slug}-after-{n}")))
        while_open, cursor_open = await read_all(store, cursor)
        # The reader stops before the open transaction: nothing after it is handed out yet.
        assert [e for e in while_open if slug in e.stream] == []
        assert cursor_open == cursor
        await transaction.commit()
    finally:
        await pool.release(held)

    for _ in range(100):  # other sessions' open transactions may hold the horizon back briefly
        after_commit, _ = await read_all(store, cursor)
        mine = [e.stream for e in after_commit if slug in e.stream]
        if len(mine) >= 4:
            break
        await asyncio.sleep(0.02)
    assert mine == [f"program-{slug}-late"] + [f"program-{slug}-after-{n}" for n in range(3)]
    positions = [e.position for e in after_commit if slug in e.stream]
    assert positions[0] < positions[1]  # the late event took its position first...
    assert len(set(positions)) == len(positions)  # ...and each event comes once


class _OneConnection:
    """A pool look-alike that always hands out one connection (to keep a transaction open)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    def acquire(self) -> _OneConnection:
        return self

    async def __aenter__(self) -> asyncpg.Connection:
        return self._connection

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_filters_by_type_and_stream(store: EventStore, slug: str) -> None:
    batch = new_events(established(slug), established(f"{slug}-2"))
    await store.append(batch)
    for _ in range(100):  # another session's open transaction may hold the horizon back briefly
        page = await store.read_log(stream=f"program-{slug}", limit=1000)
        if page:
            break
        await asyncio.sleep(0.02)
    assert [e.id for e in page] == [batch[0].id]
    typed = await store.read_log(types=["program.established"], limit=1000)
    assert {batch[0].id, batch[1].id} <= {e.id for e in typed}
    assert all(e.type == "program.established" for e in typed)


async def test_unknown_cursor_is_refused(store: EventStore) -> None:
    with pytest.raises(UnknownCursor):
        await store.read_log(after=2**52)
