"""Token scopes route by route: every route of the app against an explicit table of rules.

The routes come from the app itself, so a new route without a row in ``RULES`` fails here.
Requests go straight to the ASGI app (its lifespan and loop run by the test client), because the
test client buffers whole bodies and the SSE route never ends: a stream is cut off once started.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.auth import create_token, hash_token
from service.settings import Settings
from tests.api.conftest import Client, Tokens
from tests.factories import established, signed

# "open": never needs a token; "read": only with read_token_required; "write"/"admin": always.
Rule = Literal["open", "read", "write", "admin"]
Route = tuple[str, str]  # (HTTP method, litestar path template)

RULES: dict[Route, Rule] = {
    ("GET", "/healthz"): "open",
    ("GET", "/readyz"): "open",
    ("GET", "/metrics"): "open",
    ("GET", "/schema"): "open",
    ("GET", "/schema/swagger"): "open",
    ("GET", "/schema/openapi.json"): "open",
    ("GET", "/schema/oauth2-redirect.html"): "open",
    ("GET", "/schema/{path:str}"): "open",
    # The dashboard page and its files: no data in them, the API reads they make are ruled here.
    ("GET", "/"): "open",
    ("GET", "/dashboard/{file_path:path}"): "open",
    ("HEAD", "/dashboard/{file_path:path}"): "open",
    ("POST", "/v1/events"): "write",
    ("GET", "/v1/events"): "read",
    ("GET", "/v1/events/{event_id:uuid}"): "read",
    ("GET", "/v1/streams/{stream:str}"): "read",
    ("GET", "/v1/programs"): "read",
    ("GET", "/v1/programs/{program:str}"): "read",
    ("GET", "/v1/programs/{program:str}/members"): "read",
    ("GET", "/v1/programs/{program:str}/timeline"): "read",
    ("GET", "/v1/leases"): "read",
    ("GET", "/v1/leases/{lease:str}"): "read",
    ("GET", "/v1/missions"): "read",
    ("GET", "/v1/missions/{mission:str}"): "read",
    ("GET", "/v1/agreements"): "read",
    ("GET", "/v1/agreements/{agreement:str}"): "read",
    ("GET", "/v1/organizations/{organization:str}"): "read",
    ("GET", "/v1/parties/{party:str}"): "read",
    ("GET", "/v1/projections"): "read",
    ("GET", "/v1/projections/{name:str}/changes"): "read",
    ("GET", "/v1/projections/{name:str}/changes/stream"): "read",
    ("POST", "/v1/projections/{name:str}/rebuild"): "admin",
    # Webhooks are managed with a write token (README: "Register a URL ... (write scope)").
    ("POST", "/v1/webhooks"): "write",
    ("GET", "/v1/webhooks/{webhook_id:uuid}"): "write",
    ("DELETE", "/v1/webhooks/{webhook_id:uuid}"): "write",
    ("GET", "/v1/webhooks/{webhook_id:uuid}/deliveries"): "write",
    ("POST", "/v1/webhooks/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver"): "write",
}
LADDER = ("none", "read", "write", "admin")  # token scopes, weakest first; "none" grants nothing
BAD_HEADERS = (
    "Bearer",
    "Bearer    ",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token acl_not-a-real-token",
    "Bearer acl_not-a-real-token",
    "Bearer " + "x" * 4_000,
    "Bearer acl_\xff\xe9\x00",
)
# Sent with every refused request: a guard must refuse before it parses anything.
JUNK_QUERY = "after=-1&limit=banana&as_of=never&min_position=0&status=nope"
JUNK_BODY = b'{"not": json'
WEBHOOK_URL = "https://93.184.215.14/accordlog-scope-test"  # a global literal: no DNS lookup


def _routes(app: Litestar) -> set[Route]:
    """Every (method, path) the app serves, except the OPTIONS litestar adds to each path.

    A websocket or mounted ASGI route is listed by its kind, so it cannot slip by unlisted.
    """
    routes: set[Route] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            routes.add((type(route).__name__, route.path))
            continue
        for handler in route.route_handlers:
            routes |= {
                (method, route.path) for method in handler.http_methods if method != "OPTIONS"
            }
    return routes


APP = create_app(Settings(), dsn="postgresql://unused", run_migrations=False)  # never started
APP_ROUTES = sorted(_routes(APP))


def test_the_table_covers_every_route_of_the_app() -> None:
    assert set(RULES) - set(APP_ROUTES) == set(), "RULES lists routes the app does not serve"
    assert set(APP_ROUTES) - set(RULES) == set(), "routes without a scope rule in RULES"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


def call(
    client: Client, method: str, url: str, authorization: str | None, body: bytes = b""
) -> Answer:
    """One request, run like the test client runs it: in the thread where the app's loop is."""
    return client.blocking_portal.call(_exchange, client.app, method, url, authorization, body)


async def _exchange(
    app: Litestar, method: str, url: str, authorization: str | None, body: bytes
) -> Answer:
    """One request to the ASGI app; an event stream is disconnected as soon as it starts."""
    path, _, query = url.partition("?")
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    start: dict[str, Any] = {}
    chunks: list[bytes] = []
    done = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            if b"text/event-stream" in dict(message["headers"]).get(b"content-type", b""):
                done.set()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await asyncio.wait_for(app(scope, receive, send), timeout=20)  # type: ignore[arg-type]
    answer_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], answer_headers, b"".join(chunks))


@dataclass(frozen=True)
class Fixtures:
    """Plausible values for path parameters, and request bodies per route."""

    values: dict[str, str]

    def url(self, path: str) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: self.values[m[1]], path)

    def body(self, route: Route) -> bytes:
        if route == ("POST", "/v1/events"):
            return msgspec.json.encode(established(f"scopes-{uuid.uuid4().hex[:12]}"))
        if route == ("POST", "/v1/webhooks"):
            return msgspec.json.encode({"url": WEBHOOK_URL, "projection": "organizations"})
        return b""


@dataclass(frozen=True)
class Setup:
    client: Client
    reads_need_token: bool
    tokens: dict[str, str]  # scope on the ladder -> token


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ladder(pool: asyncpg.Pool, tokens: Tokens) -> dict[str, str]:
    none = await create_token(pool, [], "test token without scopes")
    return {"none": none, "read": tokens.read, "write": tokens.write, "admin": tokens.admin}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def closed_reads(database_dsn: str) -> AsyncIterator[Client]:
    settings = Settings(read_token_required=True, run_projector=False, run_webhook_worker=False)
    app = create_app(settings, dsn=database_dsn, run_migrations=False)
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(client: Client, tokens: Tokens) -> dict[str, str]:
    """A program with one member, so reads of it find something."""
    program = f"scopes-{uuid.uuid4().hex[:10]}"
    batch = [established(program), signed(program, "KZ")]
    posted = await client.post("/v1/events", json=batch, headers=tokens.header())
    assert posted.status_code == 201, posted.text
    return {
        "program": program, "party": "KZ", "stream": f"program-{program}",
        "event_id": posted.json()["events"][0]["id"], "name": "organizations",
        "lease": f"{program}-lease", "mission": f"{program}-mission",
        "agreement": f"{program}-agreement", "organization": f"{program}-org",
        "path": "openapi.yaml", "file_path": "js/main.js",
    }  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def fixtures(pool: asyncpg.Pool, seeded: dict[str, str]) -> AsyncIterator[Fixtures]:
    """A disabled webhook with one dead delivery, removed afterwards with any test-made hooks."""
    webhook, delivery = uuid.uuid4(), uuid.uuid4()
    await pool.execute(
        "INSERT INTO webhooks (id, url, projection, secret, status) "
        "VALUES ($1, $2, 'organizations', 'whsec_test', 'disabled')",
        webhook, WEBHOOK_URL,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, seq, payload, status) "
        "VALUES ($1, $2, 1, '{}'::jsonb, 'dead')",
        delivery, webhook,
    )  # fmt: skip
    try:
        yield Fixtures({**seeded, "webhook_id": str(webhook), "delivery_id": str(delivery)})
    finally:
        await pool.execute("DELETE FROM webhooks WHERE url = $1", WEBHOOK_URL)


def _required(rule: Rule, reads_need_token: bool) -> str | None:
    if rule == "open" or (rule == "read" and not reads_need_token):
        return None
    return rule


def _assert_problem(answer: Answer, status: int, kind: str, context: str) -> None:
    assert answer.status == status, f"{context}: {answer.status} {answer.body[:300]!r}"
    assert answer.headers["content-type"] == "application/problem+json", context
    problem = answer.json()
    assert problem["type"] == f"/problems/{kind}", context
    assert problem["status"] == status, context
    assert problem["detail"], context


def _assert_allowed(answer: Answer, context: str) -> None:
    assert answer.status not in {401, 403}, f"{context}: {answer.status} {answer.body[:300]!r}"
    assert answer.status < 500, f"{context}: {answer.status} {answer.body[:300]!r}"


async def check_route(setup: Setup, fixtures: Fixtures, route: Route) -> None:
    """No token and bad tokens: 401; a token below the rule: 403; at or above it: allowed."""
    method, template = route
    url = fixtures.url(template)
    required = _required(RULES[route], setup.reads_need_token)
    if required is None:
        for authorization in (None, *BAD_HEADERS):
            answer = call(setup.client, method, url, authorization, fixtures.body(route))
            _assert_allowed(answer, f"{method} {url} is open, sent {authorization!r:.40}")
        return
    refused = f"{url}?{JUNK_QUERY}"
    for authorization in (None, *BAD_HEADERS):
        answer = call(setup.client, method, refused, authorization, JUNK_BODY)
        context = f"{method} {url} with Authorization {authorization!r:.40}"
        _assert_problem(answer, 401, "unauthorized", context)
        assert answer.headers["www-authenticate"].startswith("Bearer"), context
    for rank, scope in enumerate(LADDER):
        authorization = f"Bearer {setup.tokens[scope]}"
        context = f"{method} {url} with a {scope!r} token ({required!r} needed)"
        if rank < LADDER.index(required):
            answer = call(setup.client, method, refused, authorization, JUNK_BODY)
            _assert_problem(answer, 403, "forbidden", context)
        else:
            answer = call(setup.client, method, url, authorization, fixtures.body(route))
            _assert_allowed(answer, context)


def _route_id(route: Route) -> str:
    return f"{route[0]} {route[1]}"


@pytest.mark.parametrize("route", APP_ROUTES, ids=_route_id)
async def test_scopes_with_open_reads(
    client: Client, ladder: dict[str, str], fixtures: Fixtures, route: Route
) -> None:
    assert route in RULES, f"add {route} to RULES"
    await check_route(Setup(client, False, ladder), fixtures, route)


@pytest.mark.parametrize("route", APP_ROUTES, ids=_route_id)
async def test_scopes_with_read_tokens_required(
    closed_reads: Client, ladder: dict[str, str], fixtures: Fixtures, route: Route
) -> None:
    assert route in RULES, f"add {route} to RULES"
    await check_route(Setup(closed_reads, True, ladder), fixtures, route)


async def test_a_revoked_token_is_401(client: Client, pool: asyncpg.Pool, slug: str) -> None:
    token = await create_token(pool, ["admin"], "test revoked")
    await pool.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1", hash_token(token)
    )
    answer = call(
        client, "POST", "/v1/events", f"Bearer {token}", msgspec.json.encode(established(slug))
    )
    _assert_problem(answer, 401, "unauthorized", "revoked token")


async def test_a_refused_write_writes_nothing(client: Client, tokens: Tokens, slug: str) -> None:
    event = established(slug)
    for headers in ({}, tokens.header("read"), {"Authorization": "Bearer acl_nope"}):
        refused = await client.post("/v1/events", json=event, headers=headers)
        assert refused.status_code in {401, 403}
    assert (await client.get(f"/v1/events/{event['id']}")).status_code == 404
    assert (await client.get(f"/v1/streams/program-{slug}")).status_code == 404


async def test_tokens_are_stored_hashed(pool: asyncpg.Pool, tokens: Tokens) -> None:
    stored = await pool.fetch("SELECT token_hash FROM api_tokens")
    assert len(stored) >= 3
    for token in (tokens.admin, tokens.write, tokens.read):
        assert all(token.encode() not in bytes(row["token_hash"]) for row in stored)


async def test_the_scheme_is_case_insensitive(client: Client, tokens: Tokens, slug: str) -> None:
    body = msgspec.json.encode(established(slug))
    answer = call(client, "POST", "/v1/events", f"bearer {tokens.write}", body)
    assert answer.status == 201, answer.body
