"""POST/GET /v1/events, /v1/events/{id}, /v1/streams/{stream} over HTTP."""

from __future__ import annotations

import asyncio
import uuid

from tests.api.conftest import Client, Tokens
from tests.factories import established, signed


async def test_post_and_read_back_the_kazakhstan_signing(
    client: Client, tokens: Tokens, slug: str
) -> None:
    kz = signed(slug, "KZ", place="Astana", party_name="Kazakhstan")
    kz["source"] = {"title": "Kazakhstan joins the ILRS", "published": "2024-07-06"}
    kz["reported_on"] = "2024-07-06"
    response = await client.post(
        "/v1/events", json=[established(slug), kz], headers=tokens.header()
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [e["version"] for e in body["events"]] == [1, 2]
    assert body["position"] == body["events"][1]["position"]

    one = await client.get(f"/v1/events/{kz['id']}")
    assert one.status_code == 200
    event = one.json()
    assert event["data"]["party"] == "KZ"
    assert event["source"]["title"] == "Kazakhstan joins the ILRS"
    assert (event["effective_lower"], event["reported_on"]) == ("2024-07-03", "2024-07-06")

    stream = await client.get(f"/v1/streams/program-{slug}")
    assert stream.headers["etag"] == '"2"'
    assert [e["type"] for e in stream.json()["events"]] == [
        "program.established",
        "membership.signed",
    ]
    cached = await client.get(f"/v1/streams/program-{slug}", headers={"If-None-Match": '"2"'})
    assert cached.status_code == 304


async def test_idempotent_retry_and_reused_id(client: Client, tokens: Tokens, slug: str) -> None:
    event = established(slug)
    first = await client.post("/v1/events", json=event, headers=tokens.header())
    again = await client.post("/v1/events", json=event, headers=tokens.header())
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    changed = {**event, "data": {"program": slug, "name": "Other"}}
    reused = await client.post("/v1/events", json=changed, headers=tokens.header())
    assert reused.status_code == 409
    assert reused.json()["type"] == "/problems/id-reused"


async def test_if_match(client: Client, tokens: Tokens, slug: str) -> None:
    created = await client.post(
        "/v1/events", json=established(slug), headers={**tokens.header(), "If-Match": '"0"'}
    )
    assert created.status_code == 201
    stale = await client.post(
        "/v1/events", json=signed(slug, "KZ"), headers={**tokens.header(), "If-Match": '"0"'}
    )
    assert stale.status_code == 412
    assert stale.json()["actual"] == 1
    ok = await client.post(
        "/v1/events", json=signed(slug, "KZ"), headers={**tokens.header(), "If-Match": '"1"'}
    )
    assert ok.status_code == 201


async def test_global_log_paging(client: Client, tokens: Tokens, slug: str) -> None:
    batch = [established(f"{slug}-{n}") for n in range(5)]
    await client.post("/v1/events", json=batch, headers=tokens.header())
    ids = {e["id"] for e in batch}
    for _ in range(100):  # other sessions' open transactions may hold the horizon back briefly
        seen: list[str] = []
        after = 0
        while True:
            page = (await client.get("/v1/events", params={"after": after, "limit": 2})).json()
            if not page["events"]:
                break
            seen += [e["id"] for e in page["events"]]
            after = page["next_after"]
        if ids <= set(seen):
            break
        await asyncio.sleep(0.02)
    assert [e["id"] for e in batch] == [i for i in seen if i in {e["id"] for e in batch}]
    assert len(seen) == len(set(seen))
    filtered = await client.get(
        "/v1/events", params={"stream": f"program-{slug}-3", "type": "program.established"}
    )
    assert [e["id"] for e in filtered.json()["events"]] == [batch[3]["id"]]


async def test_not_found(client: Client) -> None:
    missing = await client.get(f"/v1/events/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/streams/program-nothing-here")).status_code == 404


async def test_ops_and_schema(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    assert "/v1/events" in schema["paths"]
    body = schema["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert len(body["schema"]["oneOf"]) == 2
