"""The service's database role may read and append events, and nothing more (DESIGN §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from events.store import EventStore
from service.database import create_pool
from tests.factories import established, new_events


@pytest_asyncio.fixture(loop_scope="session")
async def as_app(app_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(app_dsn)
    try:
        assert await connection.fetchval("SELECT current_user") == "accordlog_app"
        yield connection
    finally:
        await connection.close()


async def test_the_app_role_appends_and_reads(app_dsn: str, slug: str) -> None:
    pool = await create_pool(app_dsn, 2)
    try:
        result = await EventStore(pool).append(new_events(established(slug)))
        stored = await pool.fetchval(
            "SELECT count(*) FROM events WHERE stream = $1", f"program-{slug}"
        )
    finally:
        await pool.close()
    assert result.created and stored == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET recorded_at = now()",
        "DELETE FROM events",
        "TRUNCATE events",
        "ALTER TABLE events ADD COLUMN mischief text",
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DROP TRIGGER IF EXISTS events_append_only ON events",
        "DROP TABLE projection_facts",
        "CREATE TABLE mischief (id int)",
        "DELETE FROM api_tokens",
        "CREATE ROLE mischief",
    ],
)
async def test_the_app_role_cannot_rewrite_history_or_the_schema(
    as_app: asyncpg.Connection, statement: str
) -> None:
    # "permission denied" (or "must be owner"): the grants refuse, not the append-only triggers.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=r"permission denied|must be"):
        await as_app.execute(statement)
