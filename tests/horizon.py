"""Waiting for the log horizon: what gap-free readers can see."""

from __future__ import annotations

import asyncio

import asyncpg


async def below_horizon(pool: asyncpg.Pool, stream: str) -> None:
    """Wait until every event of ``stream`` is readable by gap-free log readers.

    Readers stop below the oldest transaction still running anywhere on the server (other
    tests' background projectors, other sessions), so a just-committed event can be briefly
    invisible to them; comparing before then would compare different logs.
    """
    for _ in range(500):
        hidden = await pool.fetchval(
            "SELECT count(*) FROM events WHERE stream = $1 "
            "AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot())",
            stream,
        )
        if hidden == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{stream} stayed above the log horizon")
