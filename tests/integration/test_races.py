"""Races: writers with expected versions, and idempotent retries racing each other."""

from __future__ import annotations

import asyncio

import asyncpg

from events.errors import WrongExpectedVersion
from events.store import EventStore
from tests.factories import established, new_events, signed

PARTIES = ["KZ", "RU", "CN", "BY", "VE", "ZA", "EG", "PK", "NI", "TH", "RS", "AZ"]


async def test_one_winner_per_expected_version(pool: asyncpg.Pool, slug: str) -> None:
    await EventStore(pool).append(new_events(established(slug)))
    stores = [EventStore(pool) for _ in PARTIES]
    results = await asyncio.gather(
        *(
            s.append(new_events(signed(slug, p)), expected_version=1)
            for s, p in zip(stores, PARTIES, strict=True)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(e, WrongExpectedVersion) for e in losers)
    stored = await EventStore(pool).read_stream(f"program-{slug}")
    assert [e.version for e in stored] == [1, 2]


async def test_racing_retries_of_one_batch_store_it_once(pool: asyncpg.Pool, slug: str) -> None:
    batch = new_events(established(slug), signed(slug, "KZ"), signed(slug, "RU"))
    results = await asyncio.gather(
        *(EventStore(pool).append(batch) for _ in range(10)), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(1 for r in results if not isinstance(r, BaseException) and r.created) == 1
    first = next(r for r in results if not isinstance(r, BaseException))
    assert all(not isinstance(r, BaseException) and r.events == first.events for r in results)
    assert len(await EventStore(pool).read_stream(f"program-{slug}")) == 3
