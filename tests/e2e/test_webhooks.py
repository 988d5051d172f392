"""Webhooks against real server processes and a local receiver that fails first."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from service.auth import create_token
from tests.e2e.test_serve import free_port, wait_ready
from tests.factories import established, signed


class Receiver:
    """Answers each request with the next scripted status (then 200) and records it."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, status)
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def start_server(dsn: str, port: int, **extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **extra, "DATABASE_URL": dsn, "ACCORDLOG_PORT": str(port),
           "ACCORDLOG_DEMO": "0",
           "ACCORDLOG_WEBHOOKS_ALLOW_PRIVATE": "true", "ACCORDLOG_WEBHOOK_BACKOFF_MS": "50",
           "CI": "true"}  # fmt: skip
    command = [sys.executable, "-m", "service.cli", "serve"]
    quiet = subprocess.DEVNULL
    return subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet, text=True)


async def started(dsn: str, port: int, **extra: str) -> subprocess.Popen[str]:
    """A server process, once it answers /readyz."""
    server = start_server(dsn, port, **extra)
    try:
        await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}", server)
    except BaseException:
        server.kill()
        server.wait(30)
        raise
    return server


async def subscribe(
    client: httpx.AsyncClient, base: str, auth: dict[str, str], url: str, projection: str, slug: str
) -> httpx.Response:
    """Register ``url`` for the changes of ``projection`` about program ``slug``."""
    subscription = {"url": url, "projection": projection, "filter": {"program": slug}}
    return await client.post(f"{base}/v1/webhooks", headers=auth, json=subscription)


@pytest.fixture
def port() -> int:
    return free_port()


async def until(check: Any, seconds: float = 30) -> None:
    for _ in range(int(seconds * 20)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_retries_until_delivered_signed_with_a_stable_id(
    database_dsn: str, pool: asyncpg.Pool, port: int, slug: str
) -> None:
    receiver = Receiver([500, 503])
    base = f"http://127.0.0.1:{port}"
    server = await started(database_dsn, port)
    try:
        auth = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'hooks')}"}
        async with httpx.AsyncClient(timeout=30) as client:
            created = await subscribe(client, base, auth, receiver.url, "programs", slug)
            assert created.status_code == 201, created.text
            hook = created.json()
            assert hook["secret"].startswith("whsec_")
            await client.post(f"{base}/v1/events", headers=auth,
                              json=[established(slug), signed(slug, "KZ")])  # fmt: skip

            async def delivered() -> bool:
                listing = await client.get(
                    f"{base}/v1/webhooks/{hook['id']}/deliveries", headers=auth
                )
                return any(d["status"] == "delivered" for d in listing.json()["deliveries"])

            await until(delivered)
            deliveries = (await client.get(f"{base}/v1/webhooks/{hook['id']}/deliveries",
                                           headers=auth)).json()["deliveries"]  # fmt: skip
            assert [d["attempts"] for d in deliveries] == [3]
            shown = (await client.get(f"{base}/v1/webhooks/{hook['id']}", headers=auth)).json()
            assert shown["secret"] is None and shown["status"] == "active"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        receiver.close()
    assert [status for _, _, status in receiver.received] == [500, 503, 200]
    ids = {headers["webhook-id"] for headers, _, _ in receiver.received}
    assert len(ids) == 1  # the same webhook-id on every retry
    headers, body, _ = receiver.received[-1]
    event = Webhook(hook["secret"]).verify(body, headers)
    assert event["subject"] == slug and event["data"]["member_count"] == 1
    assert json.loads(body)["specversion"] == "1.0"


async def test_a_crash_mid_backlog_loses_nothing(
    database_dsn: str, pool: asyncpg.Pool, port: int, slug: str
) -> None:
    receiver = Receiver([503] * 1000)  # down for now
    base = f"http://127.0.0.1:{port}"
    server = await started(database_dsn, port)
    try:
        auth = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'hooks')}"}
        async with httpx.AsyncClient(timeout=30) as client:
            hook = (await subscribe(client, base, auth, receiver.url, "missions", slug)).json()
            for n in range(3):
                data = {"mission": f"{slug}-{n}", "name": "M", "program": slug, "planned": "2030"}
                mission = {"type": "mission.announced", "effective": "2024",
                           "id": str(uuid.uuid4()), "data": data}  # fmt: skip
                await client.post(f"{base}/v1/events", headers=auth, json=mission)

            async def queued() -> bool:
                count = await pool.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1",
                    uuid.UUID(hook["id"]),
                )
                return bool(count == 3)

            await until(queued)
        server.send_signal(signal.SIGKILL)  # a crash in the middle of the backlog
        server.wait(30)
        receiver.statuses = []  # the receiver is back
        server = await started(database_dsn, port)

        async def all_delivered() -> bool:
            rows = await pool.fetch("SELECT status FROM webhook_deliveries WHERE webhook_id = $1",
                                    uuid.UUID(hook["id"]))  # fmt: skip
            return len(rows) == 3 and all(r["status"] == "delivered" for r in rows)

        await until(all_delivered, 60)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        receiver.close()
    ok = [h["webhook-id"] for h, _, status in receiver.received if status == 200]
    assert len(set(ok)) == 3  # each change delivered; a redelivery would repeat its webhook-id


async def test_gone_disables_the_webhook(
    database_dsn: str, pool: asyncpg.Pool, port: int, slug: str
) -> None:
    receiver = Receiver([410])
    base = f"http://127.0.0.1:{port}"
    server = await started(database_dsn, port)
    try:
        auth = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'hooks')}"}
        async with httpx.AsyncClient(timeout=30) as client:
            hook = (await subscribe(client, base, auth, receiver.url, "programs", slug)).json()
            await client.post(f"{base}/v1/events", headers=auth, json=established(slug))

            async def disabled() -> bool:
                shown = (await client.get(f"{base}/v1/webhooks/{hook['id']}", headers=auth)).json()
                return bool(shown["status"] == "disabled")

            await until(disabled)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        receiver.close()
    assert [status for _, _, status in receiver.received] == [410]


async def test_429_is_honoured_then_dead_letter_and_redelivery(
    database_dsn: str, pool: asyncpg.Pool, port: int, slug: str
) -> None:
    receiver = Receiver([429, 500, 500])
    base = f"http://127.0.0.1:{port}"
    server = await started(database_dsn, port, ACCORDLOG_WEBHOOK_MAX_ATTEMPTS="3")
    try:
        auth = {"Authorization": f"Bearer {await create_token(pool, ['write'], 'hooks')}"}
        async with httpx.AsyncClient(timeout=30) as client:
            wanted = {"program": slug}
            subscription = {"url": receiver.url, "projection": "programs", "filter": wanted}
            hook = (
                await client.post(f"{base}/v1/webhooks", headers=auth, json=subscription)
            ).json()
            await client.post(f"{base}/v1/events", headers=auth, json=established(slug))
            listing = f"{base}/v1/webhooks/{hook['id']}/deliveries"

            async def status_is(expected: str) -> bool:
                deliveries = (await client.get(listing, headers=auth)).json()["deliveries"]
                return bool(deliveries) and deliveries[0]["status"] == expected

            await until(lambda: status_is("dead"))
            [dead] = (await client.get(listing, headers=auth)).json()["deliveries"]
            assert dead["attempts"] == 3 and dead["last_status"] == 500
            again = await client.post(f"{listing}/{dead['id']}/redeliver", headers=auth)
            assert again.status_code == 202
            await until(lambda: status_is("delivered"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        receiver.close()
    assert [status for _, _, status in receiver.received] == [429, 500, 500, 200]
    assert len({headers["webhook-id"] for headers, _, _ in receiver.received}) == 1
