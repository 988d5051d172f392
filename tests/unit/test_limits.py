"""The write limiter's arithmetic and the request deadline, on plain ASGI apps (no database)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from service.limits import Message, RequestDeadline, WriteLimiter, retry_after


def test_bursts_then_refills_at_the_rate() -> None:
    limiter = WriteLimiter(rate=2, burst=3)
    assert [limiter.wait(b"t", now=10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait(b"t", now=10.0) == pytest.approx(0.5)
    assert limiter.wait(b"t", now=10.5) == 0.0  # half a second buys one write at 2/s
    assert limiter.wait(b"other", now=10.5) == 0.0
    assert retry_after(0.01) == "1" and retry_after(2.2) == "3"


def test_a_zero_rate_means_no_limit() -> None:
    limiter = WriteLimiter(rate=0, burst=1)
    assert all(limiter.wait(b"t", now=1.0) == 0.0 for _ in range(1_000))


async def _call(app: Any, body_parts: list[bytes], stall: bool = False) -> list[Message]:
    """Run ``app`` behind a 50 ms deadline; return what it sent."""
    parts = list(body_parts)
    sent: list[Message] = []

    async def receive() -> Message:
        if parts:
            chunk = parts.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts) or stall}
        await asyncio.sleep(3600)  # a client that never sends the rest
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    deadline = RequestDeadline(app, 0.05, exempt=lambda path: path.endswith("/stream"))
    scope = {"type": "http", "path": "/v1/events", "method": "POST"}
    await asyncio.wait_for(deadline(scope, receive, send), 2)
    return sent


async def _reads_body_then_sleeps(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await asyncio.sleep(3600)


def _problem(sent: list[Message]) -> tuple[int, dict[str, Any], dict[bytes, bytes]]:
    start, body = sent
    return start["status"], msgspec.json.decode(body["body"]), dict(start["headers"])


async def test_a_client_that_stops_sending_its_body_gets_408() -> None:
    status, body, headers = _problem(await _call(_reads_body_then_sleeps, [b"{"], stall=True))
    assert status == 408 and body["type"] == "/problems/request-timeout"
    assert headers[b"content-type"] == b"application/problem+json"


async def test_a_slow_answer_gets_503_with_retry_after() -> None:
    status, body, headers = _problem(await _call(_reads_body_then_sleeps, [b"{}"]))
    assert status == 503 and body["type"] == "/problems/timeout"
    assert headers[b"retry-after"] == b"1"


async def test_a_slow_answer_to_a_request_whose_body_is_never_read_is_503_not_408() -> None:
    async def never_reads(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(3600)  # a GET waiting on the database, say

    status, body, _ = _problem(await _call(never_reads, [b""]))
    assert status == 503 and body["type"] == "/problems/timeout"


async def test_a_started_response_is_cut_off_not_replaced() -> None:
    async def starts_then_sleeps(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(3600)

    sent = await _call(starts_then_sleeps, [b""])
    assert [m["type"] for m in sent] == ["http.response.start"]
