"""Read-your-writes past its bound, and the admin rebuild route."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.api.conftest import Client, Tokens
from tests.factories import established, signed


async def test_min_position_past_the_bound_is_503(
    database_dsn: str, pool: asyncpg.Pool, tokens: Tokens, slug: str
) -> None:
    settings = Settings(run_projector=False, min_position_wait=0.2)
    app = create_app(settings, dsn=database_dsn, run_migrations=False)
    async with AsyncTestClient(app) as no_projector:
        posted = await no_projector.post(
            "/v1/events", json=established(slug), headers=tokens.header()
        )
        position = posted.json()["position"]
        # The session's other app runs a projector; hold the row it must update to apply this.
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT 1 FROM projection_state WHERE name = 'programs' FOR UPDATE"
            )
            response = await no_projector.get(
                f"/v1/programs/{slug}", params={"min_position": str(position)}
            )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"] == "/problems/not-yet-applied"


async def test_admin_rebuild_route(client: Client, tokens: Tokens) -> None:
    forbidden = await client.post("/v1/projections/programs/rebuild", headers=tokens.header())
    assert forbidden.status_code == 403
    missing = await client.post("/v1/projections/nope/rebuild", headers=tokens.header("admin"))
    assert missing.status_code == 404

    async def generation() -> int:
        listed = (await client.get("/v1/projections")).json()["projections"]
        return int(next(p["generation"] for p in listed if p["name"] == "programs"))

    before = await generation()
    accepted = await client.post("/v1/projections/programs/rebuild", headers=tokens.header("admin"))
    assert accepted.status_code == 202
    for _ in range(200):
        if await generation() > before:
            break
        await asyncio.sleep(0.05)
    assert await generation() == before + 1


async def test_change_feed_follows_a_program(client: Client, tokens: Tokens, slug: str) -> None:
    async def changes_of(entity: str) -> list[dict[str, Any]]:
        found, after = [], 0
        while page := (
            await client.get("/v1/projections/programs/changes", params={"after": after})
        ).json()["changes"]:
            found += [c for c in page if c["entity"] == entity]
            after = page[-1]["seq"]
        return found

    program = established(slug)
    first = await client.post(
        "/v1/events", json=[program, signed(slug, "KZ")], headers=tokens.header()
    )
    await client.get(f"/v1/programs/{slug}", params={"min_position": first.json()["position"]})
    [created] = await changes_of(slug)
    assert created["op"] == "upsert" and created["row"]["member_count"] == 1
    assert created["position"] == first.json()["position"]

    retraction = {"type": "event.retracted", "effective": "2024", "id": str(uuid.uuid4()),
                  "data": {"event_id": program["id"], "reason": "never happened"}}  # fmt: skip
    second = await client.post("/v1/events", json=retraction, headers=tokens.header())
    for _ in range(100):
        changes = await changes_of(slug)
        if len(changes) == 2:
            break
        await asyncio.sleep(0.05)
    assert [c["op"] for c in changes] == ["upsert", "delete"]
    assert changes[1]["seq"] > changes[0]["seq"] and changes[1]["row"] is None
    assert changes[1]["position"] == second.json()["position"]
    missing = await client.get("/v1/projections/nope/changes")
    assert missing.status_code == 404
