"""Every bad input gets an RFC 9457 problem naming the field, never a 500, and stores nothing."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.api.conftest import MAX_BATCH, MAX_BODY, Client, Tokens
from tests.factories import established, signed


def kz(slug: str, **data: Any) -> dict[str, Any]:
    event = signed(slug, "KZ")
    event["data"].update(data)
    return event


def cases(slug: str) -> list[tuple[str, bytes, dict[str, str], int, str, str | None]]:
    """(name, body, headers, status, problem type, field pointer)"""
    enc = msgspec.json.encode
    big = (
        b'{"type":"lease.signed","effective":"1994","data":{"lease":"%s","facility":"b",'
        b'"lessor":"KZ","lessee":"RU","area_ha":18446744073709551617}}' % slug.encode()
    )
    return [
        ("malformed JSON", b'{"type": ', {}, 400, "malformed-json", "$"),
        (
            "unknown type",
            enc({**kz(slug), "type": "membership.sighned"}),
            {},
            422,
            "invalid-event",
            "$.type",
        ),
        ("unknown field", enc({**kz(slug), "colour": "red"}), {}, 422, "invalid-event", "$.colour"),
        (
            "unknown data field",
            enc(kz(slug, colour="red")),
            {},
            422,
            "invalid-event",
            "$.data.colour",
        ),
        (
            "missing field",
            enc({k: v for k, v in kz(slug).items() if k != "effective"}),
            {},
            422,
            "invalid-event",
            "$.effective",
        ),
        ("wrong type", enc(kz(slug, party=7)), {}, 422, "invalid-event", "$.data.party"),
        (
            "bad EDTF",
            enc({**kz(slug), "effective": "2024-02-30"}),
            {},
            422,
            "invalid-event",
            "$.effective",
        ),
        ("bad country", enc(kz(slug, party="XK")), {}, 422, "invalid-event", "$.data.party"),
        ("NUL", enc(kz(slug, place="Ast\x00ana")), {}, 422, "invalid-event", "$.data.place"),
        ("integer over 2^63", big, {}, 422, "invalid-event", "$.data.area_ha"),
        ("empty batch", b"[]", {}, 422, "invalid-event", "$"),
        ("batch over limit", enc([kz(slug)] * (MAX_BATCH + 1)), {}, 422, "invalid-event", "$"),
        (
            "body over limit",
            enc({**kz(slug), "x": "y" * MAX_BODY}),
            {},
            413,
            "body-too-large",
            None,
        ),
        (
            "garbage If-Match",
            enc(kz(slug)),
            {"If-Match": "banana"},
            400,
            "invalid-parameter",
            "If-Match",
        ),
        ("not JSON at all", b"\xff\xfe\x00", {}, 400, "malformed-json", "$"),
        ("JSON but not an object", b"42", {}, 422, "invalid-event", "$"),
        (
            "domain rule",
            enc(signed(f"{slug}-none", "KZ")),
            {},
            422,
            "domain-rule",
            "$.data.program",
        ),
    ]


CASE_NAMES = [c[0] for c in cases("x")]


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_bad_input_is_a_problem_and_stores_nothing(
    client: Client, tokens: Tokens, slug: str, name: str
) -> None:
    await client.post("/v1/events", json=established(slug), headers=tokens.header())
    _, body, headers, status, kind, pointer = next(c for c in cases(slug) if c[0] == name)
    response = await client.post(
        "/v1/events",
        content=body,
        headers={**tokens.header(), "content-type": "application/json", **headers},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{kind}"
    assert problem["status"] == status and problem["detail"]
    if pointer is not None:
        assert problem["invalid-params"][0]["name"] == pointer
        assert problem["detail"].startswith(pointer)
    stream = (await client.get(f"/v1/streams/program-{slug}")).json()
    assert stream["version"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": str(2**64)}, "after"),
        ({"after": "-1"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"after": str(2**52)}, "after"),
    ],
)
async def test_bad_query_names_the_parameter(
    client: Client, query: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/events", params=query)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["invalid-params"][0]["name"] == field


async def test_bad_path_uuid_is_a_problem(client: Client) -> None:
    response = await client.get("/v1/events/not-a-uuid")
    assert response.status_code in {400, 404}
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20_000 + b'"\\u0000"' + b"]" * 20_000,
        b'{"type":"program.established","effective":"2024","data":'
        + b"[" * 20_000
        + b"]" * 20_000
        + b"}",
        b'{"type":"program.established","effective":"2024","data":{"program":"a","name":"\xff"}}',
        b'{"type":"program.established","effective":"2024","data":{"program":"a","name":"\\ud800"}}',
        b'{"type":"lease.signed","effective":"2024","data":{"lease":"a","facility":"b",'
        b'"lessor":"KZ","lessee":"RU","area_ha":1e999}}',
    ],
    ids=["deep with NUL", "deep data", "bad UTF-8", "lone surrogate", "infinite float"],
)
async def test_hostile_bodies_are_client_errors(
    client: Client, tokens: Tokens, body: bytes
) -> None:
    response = await client.post("/v1/events", content=body, headers=tokens.header())
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path", ["/v1/streams/%00", "/v1/events?stream=%00", "/v1/events?type=a%00b"]
)
async def test_nul_in_path_or_query_is_400(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
