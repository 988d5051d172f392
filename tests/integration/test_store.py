"""The event store against a real PostgreSQL whose schema alembic made."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from events.errors import IdempotencyConflict, WrongExpectedVersion
from events.rules import DomainRuleViolation
from events.store import EventStore
from tests.factories import established, new_events, signed, wire


async def test_append_assigns_versions_and_positions(store: EventStore, slug: str) -> None:
    result = await store.append(new_events(established(slug), signed(slug, "KZ")))
    assert result.created
    stream = f"program-{slug}"
    assert [(e.stream, e.version) for e in result.events] == [(stream, 1), (stream, 2)]
    assert result.events[0].position < result.events[1].position == result.position
    stored = await store.read_stream(f"program-{slug}")
    assert [e.type for e in stored] == ["program.established", "membership.signed"]
    assert stored[1].effective_lower == stored[1].effective_upper
    assert stored[1].reported_on == stored[1].recorded_at.date()


async def test_a_retry_returns_the_original_result(pool: asyncpg.Pool, slug: str) -> None:
    batch = new_events(established(slug), signed(slug, "KZ"))
    first = await EventStore(pool).append(batch)
    warm_retry = await EventStore(pool).append(batch)  # a cold cache: as another process would
    assert not warm_retry.created
    assert warm_retry.events == first.events
    assert len(await EventStore(pool).read_stream(f"program-{slug}")) == 2


async def test_same_id_with_a_different_body_is_a_conflict(store: EventStore, slug: str) -> None:
    first = established(slug)
    await store.append(new_events(first))
    changed = {**first, "data": {"program": slug, "name": "Something else"}}
    with pytest.raises(IdempotencyConflict):
        await store.append(new_events(changed))
    with pytest.raises(IdempotencyConflict):
        await EventStore(store._pool).append(new_events(changed))


async def test_expected_version(store: EventStore, slug: str) -> None:
    await store.append(new_events(established(slug)), expected_version=0)
    with pytest.raises(WrongExpectedVersion) as caught:
        await store.append(new_events(signed(slug, "KZ")), expected_version=0)
    assert caught.value.actual == 1
    await store.append(new_events(signed(slug, "KZ")), expected_version=1)


async def test_a_batch_is_atomic(store: EventStore, slug: str) -> None:
    with pytest.raises(DomainRuleViolation) as caught:
        await store.append(new_events(established(slug), signed(slug, "KZ"), signed(slug, "KZ")))
    assert caught.value.pointer == "$[2].data.party"
    assert await store.read_stream(f"program-{slug}") == []


async def test_a_stale_cache_still_enforces_the_rules(pool: asyncpg.Pool, slug: str) -> None:
    one, other = EventStore(pool), EventStore(pool)
    await one.append(new_events(established(slug)))
    await other.append(new_events(signed(slug, "KZ")))  # `one` has not seen this
    with pytest.raises(DomainRuleViolation, match="signed already"):
        await one.append(new_events(signed(slug, "KZ")))
    result = await one.append(new_events(signed(slug, "RU")))
    assert result.events[0].version == 3


async def test_concurrent_writers_on_one_stream_all_land(pool: asyncpg.Pool, slug: str) -> None:
    import asyncio

    await EventStore(pool).append(new_events(established(slug)))
    parties = ["KZ", "RU", "CN", "BY", "VE", "ZA", "EG", "PK"]
    stores = [EventStore(pool) for _ in parties]
    await asyncio.gather(
        *(s.append(new_events(signed(slug, p))) for s, p in zip(stores, parties, strict=True))
    )
    stored = await EventStore(pool).read_stream(f"program-{slug}")
    assert [e.version for e in stored] == list(range(1, len(parties) + 2))


async def test_retraction_joins_the_stream_of_its_target(store: EventStore, slug: str) -> None:
    signing = signed(slug, "KZ")
    await store.append(new_events(established(slug), signing))
    retraction = wire("event.retracted", {"event_id": signing["id"], "reason": "misreported"})
    result = await store.append(new_events(retraction))
    assert result.events[0].stream == f"program-{slug}"
    orphan = wire("event.retracted", {"event_id": str(uuid.uuid4()), "reason": "x"})
    with pytest.raises(DomainRuleViolation) as caught:
        await store.append(new_events(orphan))
    assert caught.value.pointer == "$[0].data.event_id"


async def test_correction_must_name_an_event_of_its_stream(store: EventStore, slug: str) -> None:
    other = f"{slug}-other"
    foreign = established(other)
    await store.append(new_events(established(slug), foreign))
    correction = {**signed(slug, "KZ"), "corrects": foreign["id"]}
    with pytest.raises(DomainRuleViolation, match="no event"):
        await store.append(new_events(correction))


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET type = 'x' WHERE stream = $1", "DELETE FROM events WHERE stream = $1"],
)
async def test_events_are_append_only(
    pool: asyncpg.Pool, store: EventStore, slug: str, statement: str
) -> None:
    await store.append(new_events(established(slug)))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute(statement, f"program-{slug}")
    assert len(await store.read_stream(f"program-{slug}")) == 1


async def test_truncate_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("TRUNCATE events")


async def test_upcast_on_read_of_a_v0_row(pool: asyncpg.Pool, store: EventStore, slug: str) -> None:
    await pool.execute(
        """INSERT INTO events (id, stream, version, type, schema_version, effective,
               effective_lower, effective_upper, reported_on, data, digest)
           VALUES ($1, $2, 1, 'mission.announced', 0, '2024', '2024-01-01', '2024-12-31',
                   '2024-07-06', $3, '\\x00')""",
        uuid.uuid4(),
        f"mission-{slug}",
        {"mission": slug, "name": "Legacy", "planned_year": 2026},
    )
    [event] = await store.read_stream(f"mission-{slug}")
    assert event.schema_version == 1
    assert b'"planned":"2026"' in bytes(event.data)
    moved = wire("mission.rescheduled", {"mission": slug, "planned": "2027"})
    assert (await store.append(new_events(moved))).events[0].version == 2


async def test_a_stale_cache_does_not_refuse_what_is_now_allowed(
    pool: asyncpg.Pool, slug: str
) -> None:
    one, other = EventStore(pool), EventStore(pool)
    signing = signed(slug, "KZ")
    await one.append(new_events(established(slug), signing))
    retraction = wire("event.retracted", {"event_id": signing["id"], "reason": "misreported"})
    await other.append(new_events(retraction))  # `one` still believes KZ is a member
    result = await one.append(new_events(signed(slug, "KZ", "2024-07-04")))
    assert result.events[0].version == 4


async def test_a_stale_cache_does_not_fail_if_match(pool: asyncpg.Pool, slug: str) -> None:
    one, other = EventStore(pool), EventStore(pool)
    await one.append(new_events(established(slug)))
    await other.append(new_events(signed(slug, "KZ")))
    result = await one.append(new_events(signed(slug, "RU")), expected_version=2)
    assert result.events[0].version == 3
