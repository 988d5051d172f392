"""Migrations: alembic revisions run to head, and concurrent starts are safe."""

from __future__ import annotations

import asyncio
import secrets
import sys

import asyncpg
from alembic.script import ScriptDirectory

from service.database import alembic_config
from tests.conftest import _with_database

MIGRATE = "import sys; from service.database import migrate_sync; migrate_sync(sys.argv[1])"


async def test_concurrent_migrations_from_several_processes(server_dsn: str) -> None:
    name = f"accordlog_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(server_dsn, name)
    try:
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", MIGRATE, dsn)
            for _ in range(3)
        ]
        codes = await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 60)
        assert codes == [0, 0, 0]
        connection = await asyncpg.connect(dsn)
        try:
            head = await connection.fetchval("SELECT version_num FROM alembic_version")
            tables = await connection.fetchval(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('events', 'api_tokens')"
            )
        finally:
            await connection.close()
        assert head == ScriptDirectory.from_config(alembic_config(dsn)).get_current_head()
        assert tables == 2
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
