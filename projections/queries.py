"""Reads: a projection's facts under one consistent snapshot, with the position they reflect."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg

from projections.facts import Fact
from projections.store import FACT_SELECT, fact_of

_FACTS = f"""
SELECT f.entity, {FACT_SELECT}
FROM projection_facts f JOIN events e ON e.position = f.position
WHERE f.projection = $1 AND f.generation = $2 AND ($3::text IS NULL OR f.entity = $3)
ORDER BY f.entity, f.log_xid, f.position
"""


class NotYetApplied(Exception):
    """``min_position`` was not reached within the wait bound."""


class UnknownPosition(LookupError):
    """``min_position`` names no event of the log."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Facts grouped by entity, and the log position the projection had applied."""

    facts: dict[str, list[Fact]]
    position: int


_STATE = """
SELECT s.generation, s.checkpoint_position,
       (SELECT (s.checkpoint_xid, s.checkpoint_position) >= (e.transaction_id, e.position)
        FROM events e WHERE e.position = $2) AS applied
FROM projection_state s WHERE s.name = $1
"""


async def read(
    pool: asyncpg.Pool,
    projection: str,
    entity: str | None = None,
    *,
    min_position: int | None = None,
    within: float = 0.0,
    log: asyncpg.Pool | None = None,
) -> Snapshot:
    """The facts of one entity (or all) under one snapshot, grouped by entity, in log order.

    With ``min_position``, wait up to ``within`` seconds until the projection has applied it.
    The check and the read share one snapshot, so they are answered by the same server even
    when ``pool`` is a replica (or several behind one address): what the check saw applied is
    what the read returns. ``log`` is the primary when ``pool`` is a replica: an event missing
    here may just not be replayed yet, and only the primary can tell that from a bad position.
    """
    deadline = time.monotonic() + within
    confirmed = False  # the primary has the event: keep waiting for the replica to replay it
    while True:
        async with (
            pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            state = await connection.fetchrow(_STATE, projection, min_position)
            if min_position is None or state["applied"]:
                rows = await connection.fetch(_FACTS, projection, state["generation"], entity)
                return _snapshot(rows, state["checkpoint_position"])
        confirmed = confirmed or await _on_primary(log, min_position, state["applied"])
        _give_up_when_due(projection, min_position, deadline)
        await asyncio.sleep(0.02)


async def wait_for_position(
    pool: asyncpg.Pool,
    projection: str,
    position: int,
    within: float,
    *,
    log: asyncpg.Pool | None = None,
) -> None:
    """Return once ``projection`` has applied the event at ``position`` (read-your-writes)."""
    deadline = time.monotonic() + within
    confirmed = False
    while True:
        state = await pool.fetchrow(_STATE, projection, position)
        if state["applied"]:
            return
        confirmed = confirmed or await _on_primary(log, position, state["applied"])
        _give_up_when_due(projection, position, deadline)
        await asyncio.sleep(0.02)


def _snapshot(rows: list[asyncpg.Record], position: int) -> Snapshot:
    grouped: dict[str, list[Fact]] = {}
    for row in rows:
        grouped.setdefault(row["entity"], []).append(fact_of(row))
    return Snapshot(grouped, position)


async def _on_primary(log: asyncpg.Pool | None, position: int, applied: bool | None) -> bool:
    """Whether the event is known to exist; UnknownPosition when the log has no such event.

    ``applied`` is None when the database read has no event at ``position``. Without ``log``
    that database is the primary: the position is unknown. With it, ask the primary once.
    """
    if applied is not None:
        return False
    if log is not None and await log.fetchval(
        "SELECT EXISTS (SELECT 1 FROM events WHERE position = $1)", position
    ):
        return True
    raise UnknownPosition(f"min_position: no event at position {position}")


def _give_up_when_due(projection: str, position: int, deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise NotYetApplied(f"the {projection} projection has not applied position {position} yet")


_LOG = f"""
SELECT {FACT_SELECT}
FROM events e
WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  AND ($1::text[] IS NULL OR e.stream = ANY($1::text[]))
ORDER BY e.transaction_id, e.position
"""


async def live_facts(pool: asyncpg.Pool, streams: list[str] | None = None) -> list[Fact]:
    """Facts straight from the log (no projection), in log order: the live fold's input."""
    return [fact_of(row) for row in await pool.fetch(_LOG, streams)]
