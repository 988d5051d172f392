"""What operators see: Prometheus metrics, request ids, structured access logs."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from projections.facts import PROJECTIONS
from service.app import create_app
from service.logs import REQUEST_ID, JsonLines, Scrubbed
from service.settings import Settings
from tests.api.conftest import Client, Tokens
from tests.conftest import fresh_database
from tests.factories import established, signed


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$" if wanted else (
        rf"^{re.escape(name)} (\S+)$")  # fmt: skip
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_appends_and_report_the_database(
    client: Client, tokens: Tokens, slug: str
) -> None:
    before = (await client.get("/metrics")).text
    posted = await client.post("/v1/events", headers=tokens.header(),
                               json=[established(slug), signed(slug, "KZ")])  # fmt: skip
    assert posted.status_code == 201
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    appended = "accordlog_events_appended_total"
    assert sample(after, appended) - sample(before, appended) == 2
    assert sample(after, "accordlog_database_up") == 1
    assert sample(after, "accordlog_log_head_position") >= posted.json()["position"]
    assert sample(after, "accordlog_projection_active", projection="programs") == 1
    assert 'accordlog_projection_lag_events{projection="parties"}' in after
    assert 'accordlog_webhook_deliveries{status="pending"}' in after


async def test_request_metrics_group_paths_by_route(client: Client, slug: str) -> None:
    await client.get(f"/v1/programs/{slug}")
    text = (await client.get("/metrics")).text
    assert "accordlog_requests_total" in text
    assert 'path="/v1/programs/{program}"' in text
    assert slug not in text  # one series per route, not per URL


@pytest.mark.parametrize(
    ("given", "echoed"), [("trace-123.abc", True), ("bad id with spaces", False), (None, False)]
)
async def test_every_response_carries_a_request_id(
    client: Client, given: str | None, echoed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Request-ID": given} if given else {}
    with caplog.at_level(logging.INFO, logger="accordlog.access"):
        response = await client.get("/healthz", headers=headers)
    request_id = response.headers["x-request-id"]
    assert (request_id == given) is echoed
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", request_id)
    access = [r for r in caplog.records if r.name == "accordlog.access"]
    assert access and access[-1].__dict__["status"] == 200
    assert access[-1].__dict__["path"] == "/healthz"


def test_json_lines_carry_the_request_id_and_access_fields() -> None:
    record = logging.LogRecord("accordlog.access", logging.INFO, __file__, 1, "GET /x 200", (),
                               None)  # fmt: skip
    record.__dict__.update(method="GET", path="/x", status=200, duration_ms=1.5)
    token = REQUEST_ID.set("req-1")
    try:
        line = JsonLines().format(record)
    finally:
        REQUEST_ID.reset(token)
    entry = msgspec.json.decode(line)
    assert entry["request_id"] == "req-1" and entry["status"] == 200
    assert entry["level"] == "info" and entry["logger"] == "accordlog.access"
    assert entry["message"] == "GET /x 200" and entry["time"].endswith("+00:00")


async def test_readyz_reports_each_projection(client: Client) -> None:
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["database"] == "ok"
    assert set(ready["projections"]) == set(PROJECTIONS)
    assert all(p["active"] for p in ready["projections"].values())


@pytest.fixture
def lonely_dsn(server_dsn: str) -> Iterator[str]:
    """A database no projector works on."""
    yield from fresh_database(server_dsn)


async def test_readyz_without_any_projector_is_degraded_and_a_dead_one_is_not_ready(
    lonely_dsn: str,
) -> None:
    idle = create_app(Settings(run_projector=False, run_webhook_worker=False), dsn=lonely_dsn,
                      run_migrations=False)  # fmt: skip
    async with AsyncTestClient(idle) as client:
        degraded = await client.get("/readyz")
        assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    own = create_app(Settings(run_webhook_worker=False), dsn=lonely_dsn, run_migrations=False)
    async with AsyncTestClient(own) as client:
        own.state.projector_task.cancel()
        await asyncio.sleep(0.05)
        stopped = await client.get("/readyz")
        assert stopped.status_code == 503
        assert "projector has stopped" in stopped.json()["detail"]


async def test_unrouted_requests_get_a_request_id_and_an_access_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="accordlog.access"):
        missing = await client.get("/no/such/route", headers={"X-Request-ID": "probe-1"})
        wrong = await client.delete("/healthz")
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "probe-1")
    assert wrong.status_code == 405 and wrong.headers["x-request-id"]
    lines = [(r.__dict__["path"], r.__dict__["status"]) for r in caplog.records
             if r.name == "accordlog.access"]  # fmt: skip
    assert ("/no/such/route", 404) in lines and ("/healthz", 405) in lines


def test_a_newline_in_a_logged_path_cannot_forge_a_line() -> None:
    record = logging.LogRecord(
        "accordlog.access", logging.INFO, __file__, 1, "%s %s %s",
        ("GET", "/v1/programs/x\n2026-11-24 ERROR accordlog.auth: forged", 404), None,
    )  # fmt: skip
    line = Scrubbed("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "x\\n2026" in line


async def test_a_background_task_that_dies_is_logged_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from service.app import _supervised

    async def poisoned() -> None:
        raise RuntimeError("a fold that cannot fold")

    with caplog.at_level(logging.ERROR, logger="accordlog.app"):
        task = _supervised("projector", poisoned())
        await asyncio.sleep(0.01)
    assert task.done()
    assert any("projector stopped" in r.getMessage() and r.exc_info for r in caplog.records)
