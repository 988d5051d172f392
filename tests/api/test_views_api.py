"""Time travel over HTTP on the seed story's facts, through the running projector."""

from __future__ import annotations

import asyncpg
import pytest_asyncio

from events.store import EventStore
from service.cli import DEMO_FILE
from service.importer import import_lines, read_lines
from tests.api.conftest import Client, Tokens
from tests.factories import established, signed


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo(pool: asyncpg.Pool) -> int:
    """Load the demo (idempotent); the highest position of the log afterwards."""
    await import_lines(EventStore(pool), read_lines(DEMO_FILE))
    position: int = await pool.fetchval("SELECT max(position) FROM events")
    return position


async def test_ilrs_countries_and_kazakhstans_ordinal(client: Client, demo: int) -> None:
    params = {"as_of": "2024-07-04", "min_position": str(demo)}
    program = (await client.get("/v1/programs/ilrs", params=params)).json()
    assert program["member_counts_by_type"]["country"] == 12
    assert program["as_of"] == "2024-07-04" and program["position"] >= 1
    members = await client.get(
        "/v1/programs/ilrs/members", params={**params, "party_type": "country"}
    )
    kz = next(m for m in members.json()["members"] if m["party"] == "KZ")
    assert kz["ordinal"] == 12
    assert kz["source"]["title"].startswith("Kazakhstan Joins")


async def test_baikonur_expiry_as_of(client: Client, demo: int) -> None:
    expires = {}
    for as_of in ("2000-01-01", "2010-01-01"):
        response = await client.get(
            "/v1/leases/baikonur", params={"as_of": as_of, "min_position": str(demo)}
        )
        assert response.status_code == 200, response.text
        expires[as_of] = response.json()["expires"]
    assert expires == {"2000-01-01": "2014", "2010-01-01": "2050"}
    before = await client.get("/v1/leases/baikonur", params={"as_of": "1990-01-01"})
    assert before.status_code == 404


async def test_known_at_and_as_of_together(client: Client, demo: int) -> None:
    base = {"min_position": str(demo), "as_of": "2024-07-05"}
    before_story = (
        await client.get("/v1/programs/ilrs", params={**base, "known_at": "2024-07-05"})
    ).json()
    hindsight = (await client.get("/v1/programs/ilrs", params=base)).json()
    assert hindsight["member_count"] == before_story["member_count"] + 1
    assert before_story["known_at"] == "2024-07-05"


async def test_other_views(client: Client, demo: int) -> None:
    params = {"min_position": str(demo), "as_of": "2024-12-31"}
    mission = (await client.get("/v1/missions/change-7", params=params)).json()
    assert mission["planned"] == "2026~" and mission["status"] == "announced"
    missions = (await client.get("/v1/missions", params={**params, "program": "ilrs"})).json()
    assert {m["mission"] for m in missions["missions"]} == {"change-7", "change-8"}
    agreement = (await client.get("/v1/agreements/cn-kz-ilrs-2024", params=params)).json()
    assert agreement["parties"] == ["CN", "KZ"] and agreement["in_force"]
    org = (await client.get("/v1/organizations/ilrsco", params=params)).json()
    assert org["status"] == "announced"
    kz = (await client.get("/v1/parties/KZ", params=params)).json()
    assert "ilrs" in [m["program"] for m in kz["memberships"]]
    assert kz["leases"] == [{"lease": "baikonur", "role": "lessor"}]
    programs = (await client.get("/v1/programs", params=params)).json()
    assert {"ilrs", "artemis-accords"} <= {p["program"] for p in programs["programs"]}
    timeline = await client.get(
        "/v1/programs/ilrs/timeline",
        params={
            "from": "2021-01-01",
            "to": "2024-12-31",
            "interval": "year",
            "min_position": str(demo),
        },
    )
    assert [p["member_count"] for p in timeline.json()["points"]] == [2, 2, 8, 12]
    status = (await client.get("/v1/projections")).json()["projections"]
    assert {s["name"] for s in status} >= {"programs", "parties"}


async def test_read_your_writes(client: Client, tokens: Tokens, slug: str) -> None:
    posted = await client.post(
        "/v1/events", json=[established(slug), signed(slug, "KZ")], headers=tokens.header()
    )
    position = posted.json()["position"]
    program = await client.get(
        f"/v1/programs/{slug}", params={"min_position": str(position), "as_of": "2025-01-01"}
    )
    assert program.status_code == 200, program.text
    assert program.json()["member_count"] == 1
    assert program.json()["position"] >= 1


async def test_unknown_min_position_and_missing_entities(client: Client) -> None:
    unknown = await client.get("/v1/programs/ilrs", params={"min_position": str(2**52)})
    assert unknown.status_code == 400
    assert (await client.get("/v1/programs/no-such-program")).status_code == 404
    assert (await client.get("/v1/programs/ilrs", params={"as_of": "nope"})).status_code == 400
