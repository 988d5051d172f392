"""Writes need a bearer token with scope write; 401 and 403 are distinct."""

from __future__ import annotations

from tests.api.conftest import Client, Tokens
from tests.factories import established


async def test_no_token_is_401(client: Client, slug: str) -> None:
    response = await client.post("/v1/events", json=established(slug))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "/problems/unauthorized"


async def test_unknown_token_is_401(client: Client, slug: str) -> None:
    headers = {"Authorization": "Bearer acl_not-a-real-token"}
    response = await client.post("/v1/events", json=established(slug), headers=headers)
    assert response.status_code == 401


async def test_read_scope_cannot_write(client: Client, tokens: Tokens, slug: str) -> None:
    response = await client.post(
        "/v1/events", json=established(slug), headers=tokens.header("read")
    )
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"
    assert (await client.get(f"/v1/streams/program-{slug}")).status_code == 404


async def test_write_and_admin_scopes_can_write(client: Client, tokens: Tokens, slug: str) -> None:
    for n, scope in enumerate(["write", "admin"]):
        response = await client.post(
            "/v1/events", json=established(f"{slug}-{n}"), headers=tokens.header(scope)
        )
        assert response.status_code == 201


async def test_tokens_are_stored_hashed(client: Client, tokens: Tokens, pool: object) -> None:
    import asyncpg

    assert isinstance(pool, asyncpg.Pool)
    stored = await pool.fetch("SELECT token_hash FROM api_tokens")
    assert all(tokens.write.encode() not in bytes(row["token_hash"]) for row in stored)
    assert len(stored) >= 3
