"""Webhook registration: validation, SSRF refusal, scopes."""

from __future__ import annotations

import pytest

from tests.api.conftest import Client, Tokens


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/hook", "projection": "programs"}, "url"),
        ({"url": "http://10.1.2.3/hook", "projection": "programs"}, "url"),
        ({"url": "ftp://example.org/hook", "projection": "programs"}, "url"),
        ({"url": "http://a:99999/x", "projection": "programs"}, "url"),  # once a 500
        ({"url": "http://example.org:abc/", "projection": "programs"}, "url"),
        ({"url": "http://[::1/x", "projection": "programs"}, "url"),
        (
            {"url": "https://example.org/hook", "projection": "programs", "filter": {"x": "y"}},
            "filter",
        ),
        ({"url": "https://example.org/hook", "projection": "nope"}, "projection"),
        (
            {"url": "https://example.org/hook", "projection": "programs", "secret": "short"},
            "secret",
        ),
    ],
)
async def test_bad_webhooks_are_refused(
    client: Client, tokens: Tokens, body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/webhooks", json=body, headers=tokens.header())
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["invalid-params"][0]["name"]


async def test_webhooks_need_a_write_token(client: Client, tokens: Tokens) -> None:
    body = {"url": "https://example.org/hook", "projection": "programs"}
    assert (await client.post("/v1/webhooks", json=body)).status_code == 401
    assert (
        await client.post("/v1/webhooks", json=body, headers=tokens.header("read"))
    ).status_code == 403
    missing = await client.get(
        "/v1/webhooks/00000000-0000-0000-0000-000000000000", headers=tokens.header()
    )
    assert missing.status_code == 404
