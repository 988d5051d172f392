"""``tail=true`` on the log and on a change feed: the newest entries, in order, ready to follow."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import Client, Tokens
from tests.factories import established, signed


async def positions(client: Client, want: int, **params: str) -> list[int]:
    """Positions of a log read, once it shows ``want`` events: an append is visible to log
    readers only when no older transaction (a projector's, say) is still open."""
    for _ in range(100):
        page = await client.get("/v1/events", params=params)
        assert page.status_code == 200, page.text
        found = [int(e["position"]) for e in page.json()["events"]]
        if len(found) >= want:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{params}: fewer than {want} events")


async def test_the_tail_of_the_log_is_its_last_events_in_order(
    client: Client, tokens: Tokens, slug: str
) -> None:
    batch = [established(slug), signed(slug, "KZ"), signed(slug, "TH"), signed(slug, "RS")]
    posted = await client.post("/v1/events", json=batch, headers=tokens.header())
    assert posted.status_code == 201, posted.text
    written = [e["position"] for e in posted.json()["events"]]
    stream = f"program-{slug}"

    assert await positions(client, 2, tail="true", limit="2", stream=stream) == written[-2:]
    typed = await positions(
        client, 1, tail="true", limit="10", stream=stream, type="program.established"
    )
    assert typed == written[:1]
    after_first = await positions(client, 3, tail="true", after=str(written[0]), stream=stream)
    assert after_first == written[1:]
    page = await client.get("/v1/events", params={"tail": "true", "limit": "1", "stream": stream})
    assert page.json()["next_after"] == written[-1]

    # Following on from the tail: nothing newer yet, then exactly what comes next.
    assert await positions(client, 0, after=str(written[-1]), stream=stream) == []
    more = await client.post("/v1/events", json=signed(slug, "AZ"), headers=tokens.header())
    followed = await positions(client, 1, after=str(written[-1]), stream=stream)
    assert followed == [more.json()["position"]]


async def test_the_tail_of_the_whole_log_ends_at_its_head(
    client: Client, tokens: Tokens, slug: str
) -> None:
    posted = await client.post("/v1/events", json=established(slug), headers=tokens.header())
    position = posted.json()["position"]
    for _ in range(100):
        tail = (await client.get("/v1/events", params={"tail": "true", "limit": "1"})).json()
        if tail["next_after"] == position:
            break
        await asyncio.sleep(0.05)
    assert [e["id"] for e in tail["events"]] == [posted.json()["events"][0]["id"]]


async def test_the_tail_of_a_change_feed(client: Client, tokens: Tokens, slug: str) -> None:
    posted = await client.post(
        "/v1/events", json=[established(slug), signed(slug, "KZ")], headers=tokens.header()
    )
    position = posted.json()["position"]
    applied = await client.get(f"/v1/programs/{slug}", params={"min_position": str(position)})
    assert applied.status_code == 200, applied.text

    everything: list[dict[str, Any]] = []
    after = 0
    while page := (
        await client.get("/v1/projections/programs/changes", params={"after": str(after)})
    ).json()["changes"]:
        everything += page
        after = page[-1]["seq"]
    assert slug in {c["entity"] for c in everything}

    tail = await client.get(
        "/v1/projections/programs/changes", params={"tail": "true", "limit": "2"}
    )
    assert tail.status_code == 200, tail.text
    assert tail.json() == {
        "projection": "programs", "changes": everything[-2:], "next_after": everything[-1]["seq"]
    }  # fmt: skip
    head = {"tail": "true", "after": str(everything[-1]["seq"])}
    assert (await client.get("/v1/projections/programs/changes", params=head)).json() == {
        "projection": "programs", "changes": [], "next_after": everything[-1]["seq"]
    }  # fmt: skip
