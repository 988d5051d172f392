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


async def read(pool: asyncpg.Pool, projection: str, entity: str | None = None) -> Snapshot:
    """The facts of one entity (or all) under one snapshot, grouped by entity, in log order."""
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        state = await connection.fetchrow(
            "SELECT generation, checkpoint_position FROM projection_state WHERE name = $1",
            projection,
        )
        rows = await connection.fetch(_FACTS, projection, state["generation"], entity)
    grouped: dict[str, list[Fact]] = {}
    for row in rows:
        grouped.setdefault(row["entity"], []).append(fact_of(row))
    return Snapshot(grouped, state["checkpoint_position"])


async def wait_for_position(
    pool: asyncpg.Pool, projection: str, position: int, within: float
) -> None:
    """Return once ``projection`` has applied the event at ``position`` (read-your-writes)."""
    deadline = time.monotonic() + within
    while True:
        applied = await pool.fetchval(
            """SELECT (s.checkpoint_xid, s.checkpoint_position) >= (e.transaction_id, e.position)
               FROM events e, projection_state s WHERE e.position = $2 AND s.name = $1""",
            projection,
            position,
        )
        if applied is None:
            raise UnknownPosition(f"min_position: no event at position {position}")
        if applied:
            return
        if time.monotonic() >= deadline:
            raise NotYetApplied(
                f"the {projection} projection has not applied position {position} yet"
            )
        await asyncio.sleep(0.02)


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
