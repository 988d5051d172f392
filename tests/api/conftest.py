"""An app on the test database, reached through litestar's async test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest_asyncio
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.auth import create_token
from service.settings import Settings

Client = AsyncTestClient[Litestar]
MAX_BODY = 64 * 1024
MAX_BATCH = 20


@dataclass(frozen=True)
class Tokens:
    admin: str
    write: str
    read: str

    def header(self, scope: str = "write") -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, scope)}"}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(database_dsn: str, app_dsn: str) -> AsyncIterator[Client]:
    # No webhook worker here: the e2e webhook tests run their own servers on this database.
    settings = Settings(
        max_batch=MAX_BATCH, max_body_bytes=MAX_BODY, run_webhook_worker=False, write_rate=0
    )
    # The app runs as accordlog_app, as in production, so every API test also proves its grants.
    app = create_app(settings, dsn=database_dsn, app_dsn=app_dsn, run_migrations=False)
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tokens(pool: asyncpg.Pool) -> Tokens:
    return Tokens(
        admin=await create_token(pool, ["admin"], "test admin"),
        write=await create_token(pool, ["write"], "test writer"),
        read=await create_token(pool, ["read"], "test reader"),
    )
