"""Shared fixtures: a real PostgreSQL (DATABASE_URL, or an embedded one), schema by alembic."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from events.store import EventStore
from service.database import EmbeddedPostgres, create_pool, enable_app_login, migrate_sync


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, or an embedded one in a temporary directory."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="accordlog-test-") as directory:
        embedded = EmbeddedPostgres(Path(directory))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
def database_dsn(server_dsn: str) -> Iterator[str]:
    """The database shared by this test session, migrated by ``alembic upgrade head``."""
    yield from fresh_database(server_dsn)


def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new database migrated to head, dropped afterwards."""
    import asyncio

    name = f"accordlog_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(server_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    dsn = _with_database(server_dsn, name)
    try:
        migrate_sync(dsn)
        yield dsn
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def app_dsn(database_dsn: str) -> str:
    """The test database as ``accordlog_app``: the role the service runs as."""
    import asyncio

    return asyncio.run(enable_app_login(database_dsn))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_dsn, 20)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    """A store with a cold cache, as a freshly started process would have."""
    return EventStore(pool)


@pytest.fixture
def slug() -> str:
    """A unique slug, so each test owns its streams."""
    return f"t-{uuid.uuid4().hex[:12]}"
