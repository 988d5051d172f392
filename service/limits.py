"""Limits that keep one client from starving the rest: write rates per token, request deadlines."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgspec

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


@dataclass
class WriteLimiter:
    """A token bucket per API token: ``rate`` writes a second, in bursts of up to ``burst``.

    Buckets live in this process: with N API replicas a token may write N times the rate. That
    keeps the write path free of an extra database round trip; a shared limit belongs in front.
    """

    rate: float
    burst: float
    _buckets: dict[bytes, tuple[float, float]] = field(default_factory=dict)

    def wait(self, key: bytes, now: float | None = None) -> float:
        """Take one write for ``key``: 0 when allowed, else the seconds until one is."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        level, then = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - then) * self.rate)
        if level < 1:
            self._buckets[key] = (level, now)
            return (1 - level) / self.rate
        if len(self._buckets) > 10_000:
            self._forget_idle(now)
        self._buckets[key] = (level - 1, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        full = now - self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if v[1] > full}


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


class RequestDeadline:
    """ASGI middleware: a request must be answered within ``seconds``.

    A client still sending its body when time runs out gets 408; a request the service could not
    answer in time gets 503 with Retry-After. Paths for which ``exempt`` is true (long-lived
    streams) have no deadline. A response already started cannot be replaced: it is cut off.
    """

    def __init__(self, app: ASGIApp, seconds: float, exempt: Callable[[str], bool]) -> None:
        self.app = app
        self.seconds = seconds
        self.exempt = exempt

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        awaiting_body = started = False

        async def receiving() -> Message:
            # 408 is only for a client caught mid-body: the app was waiting on it to send more.
            nonlocal awaiting_body
            awaiting_body = True
            message = await receive()
            awaiting_body = False
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receiving, sending)
        except TimeoutError:
            if not started:
                await send_problem(send, *self._timed_out(awaiting_body))

    def _timed_out(self, awaiting_body: bool) -> tuple[int, str, str, dict[str, str]]:
        limit = f"{self.seconds:g} s (ACCORDLOG_REQUEST_TIMEOUT_MS)"
        if awaiting_body:
            return 408, "request-timeout", f"the request body did not arrive within {limit}", {}
        detail = (
            f"no answer within {limit}; retrying an append is safe when its events carry "
            "their own ids"
        )
        return 503, "timeout", detail, {"retry-after": "1"}


async def send_problem(
    send: Send, status: int, slug: str, detail: str, headers: dict[str, str]
) -> None:
    """An RFC 9457 response, written straight to ASGI (outside litestar's handlers)."""
    body = msgspec.json.encode(
        {"type": f"/problems/{slug}", "title": HTTPStatus(status).phrase, "status": status,
         "detail": detail}
    )  # fmt: skip
    raw = [(b"content-type", b"application/problem+json"), (b"connection", b"close")]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
