"""Alembic environment: raw SQL revisions, no models, over asyncpg.

The DSN comes from ``config.attributes["dsn"]`` (set by ``service.database.migrate``) or from
``DATABASE_URL``. A transaction-scoped advisory lock makes concurrent starts safe: one process
migrates while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import asyncio
import os

import asyncpg
from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATION_LOCK = 0x6163636F72646C67  # "accordlg"


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run(dsn: str) -> None:
    engine = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=lambda: asyncpg.connect(dsn),
        poolclass=pool.NullPool,
    )
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
    await engine.dispose()


def _dsn() -> str:
    dsn = context.config.attributes.get("dsn") or os.environ.get("DATABASE_URL")
    if not dsn:
        raise RuntimeError("set DATABASE_URL (or pass a dsn) to run migrations")
    return str(dsn)


if context.is_offline_mode():
    raise RuntimeError("accordlog migrations run online only")
asyncio.run(_run(_dsn()))
