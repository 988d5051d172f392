"""Read-your-writes past its bound, and the admin rebuild route."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.api.conftest import Client, Tokens
from tests.factories import established


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
