"""Shared bench plumbing: a throwaway database on DATABASE_URL's server or an embedded one."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.database import EmbeddedPostgres, migrate


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A fresh, migrated database, dropped afterwards."""
    embedded = None
    server = os.environ.get("DATABASE_URL")
    directory = tempfile.TemporaryDirectory(prefix="accordlog-bench-")
    if not server:
        embedded = EmbeddedPostgres(Path(directory.name))
        server = embedded.start()
    name = f"accordlog_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        await migrate(dsn)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if embedded is not None:
            embedded.stop()
        directory.cleanup()


async def server_version(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
