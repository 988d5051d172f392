"""Schemathesis fuzzes every documented operation: never a 5xx, every answer as documented.

The schema is the one the app serves at ``/schema/openapi.json`` (checked below), read when the
module is collected, so each operation is a test of its own. Requests go in-process over ASGI to
an app on a database of its own, seeded with the demo story and called with an admin token.
Generation is derandomized from a fixed seed: the same cases every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import schemathesis
from litestar import Litestar
from litestar.serialization import encode_json
from litestar.testing import AsyncTestClient
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from events.store import EventStore
from service.app import create_app
from service.auth import create_token
from service.cli import DEMO_FILE
from service.database import create_pool, enable_app_login
from service.importer import import_lines, read_lines
from service.settings import Settings
from tests.api.conftest import MAX_BATCH, MAX_BODY
from tests.conftest import fresh_database

SEED = 20_240_917
MAX_EXAMPLES = 20
SCHEMA_PATH = "/schema/openapi.json"
SETTINGS = Settings(
    max_batch=MAX_BATCH,
    max_body_bytes=MAX_BODY,
    run_webhook_worker=False,
    # A huge min_position would otherwise hold each example for the default 5 s.
    min_position_wait=0.2,
    # Every write reaches its handler; that 429 is documented is checked in test_openapi.py.
    write_rate=0,
    # No DNS lookups of fuzzed host names: CI stays offline and deterministic. The SSRF guard
    # has its own tests in test_webhooks_api.py.
    webhooks_allow_private=True,
)
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "continue-on-failure": True,
        # A request that hangs fails its test instead of stalling CI.
        "request-timeout": 10,
        "checks": {
            # Schema-valid is not always valid: EDTF dates, ISO country codes, domain rules,
            # a min_position past the head of the log all answer a documented 4xx by design.
            "positive_data_acceptance": {"enabled": False},
        },
    }
)


def _document() -> dict[str, Any]:
    """The OpenAPI document as the app serves it; building an app opens no connection."""
    app = create_app(SETTINGS, dsn="postgresql://schema-only", run_migrations=False)
    document: dict[str, Any] = msgspec.json.decode(encode_json(app.openapi_schema.to_schema()))
    return document


# Server-Sent Events never end: the stream route is left out of the schema, and out of here.
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG).exclude(
    path_regex=r"/changes/stream$"
)


@dataclass(frozen=True)
class FuzzTarget:
    app: Litestar
    headers: dict[str, str]


async def _seed(owner_dsn: str) -> str:
    """The demo story, so list reads answer with real views; returns an admin token."""
    pool = await create_pool(owner_dsn, 2)
    try:
        await import_lines(EventStore(pool), read_lines(DEMO_FILE))
        return await create_token(pool, ["admin"], "fuzz admin")
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def target(server_dsn: str) -> Iterator[FuzzTarget]:
    """An app on a database of its own, so fuzzed writes and rebuilds touch no other test's data.

    Schemathesis starts the app's lifespan on the first request and ends it after each test.
    """
    for owner_dsn in fresh_database(server_dsn):
        token = asyncio.run(_seed(owner_dsn))
        app_dsn = asyncio.run(enable_app_login(owner_dsn))
        app = create_app(SETTINGS, dsn=owner_dsn, app_dsn=app_dsn, run_migrations=False)
        yield FuzzTarget(app, {"Authorization": f"Bearer {token}"})


@schema.parametrize()
def test_api_answers_as_documented(case: Case[Any], target: FuzzTarget) -> None:
    case.call_and_validate(app=target.app, headers=target.headers)


async def test_the_fuzzed_schema_is_the_served_one(target: FuzzTarget) -> None:
    async with AsyncTestClient(target.app) as client:
        served = await client.get(SCHEMA_PATH)
    assert served.status_code == 200
    assert served.json() == schema.raw_schema
