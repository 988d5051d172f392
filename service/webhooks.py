"""Webhook delivery: changes fanned out into a PostgreSQL queue, signed, retried, dead-lettered.

Several workers (API processes) can run at once: fan-out locks each webhook row with SKIP
LOCKED, and deliveries are claimed with SKIP LOCKED plus a lease, then sent outside any
transaction. Delivery is at least once; the `webhook-id` header stays the same on every retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
from standardwebhooks.webhooks import Webhook

from service.notifier import ANY, ChangeNotifier
from service.routes.streams import _CHANGES, cloud_event, matches
from service.settings import Settings

log = logging.getLogger("accordlog.webhooks")
LEASE = timedelta(seconds=30)
RESOLVE_SECONDS = 5.0


class UnsafeTarget(ValueError):
    """The URL points at a private, loopback or otherwise internal address."""


async def check_target(url: str, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or resolve to internal addresses (SSRF).

    Resolution runs in the loop's resolver thread, bounded, so a slow DNS stalls no one else.
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError as error:
        raise UnsafeTarget(f"url: not a valid URL ({error})") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeTarget("url: expected an http or https URL with a host")
    if allow_private:
        return
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port or 443, proto=socket.IPPROTO_TCP
            ),
            RESOLVE_SECONDS,
        )
    except (OSError, UnicodeError, TimeoutError):
        raise UnsafeTarget(f"url: cannot resolve {parts.hostname!r}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeTarget(
                f"url: {parts.hostname} resolves to {address}, an internal address "
                "(set ACCORDLOG_WEBHOOKS_ALLOW_PRIVATE=true to allow)"
            )


class WebhookWorker:
    """Fans changes out to subscribed webhooks and delivers them, until stopped."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        notifier: ChangeNotifier | None = None,
        *,
        interval: float = 0.25,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.notifier = notifier
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
            while not stop.is_set():
                changed = self.notifier.waiter(ANY) if self.notifier else asyncio.Event()
                try:
                    await self.fan_out()
                    while await self.deliver_due(client):
                        pass
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    log.warning("webhooks: %s; retrying", error)
                # Wake on the next change anywhere; poll anyway for retries that come due.
                waits = {asyncio.create_task(changed.wait()), asyncio.create_task(stop.wait())}
                await asyncio.wait(waits, timeout=self.interval, return_when="FIRST_COMPLETED")
                for task in waits:
                    task.cancel()

    async def fan_out(self) -> None:
        """Queue a delivery for each new change that each active webhook wants."""
        hooks = await self.pool.fetch("SELECT id FROM webhooks WHERE status = 'active'")
        for hook in hooks:
            async with self.pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(
                    "SELECT id, projection, filter, cursor_seq FROM webhooks "
                    "WHERE id = $1 AND status = 'active' FOR UPDATE SKIP LOCKED",
                    hook["id"],
                )
                if row is None:
                    continue
                changes = await connection.fetch(_CHANGES, row["projection"], row["cursor_seq"])
                if not changes:
                    continue
                wanted = msgspec.json.decode(row["filter"])
                records = [
                    (_delivery_id(row["id"], change["seq"]), row["id"], change["seq"],
                     msgspec.Raw(msgspec.json.encode(cloud_event(row["projection"], change))))
                    for change in changes
                    if matches(row["projection"], change["entity"], change["row"], wanted)
                ]  # fmt: skip
                await connection.executemany(
                    "INSERT INTO webhook_deliveries (id, webhook_id, seq, payload) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    records,
                )
                await connection.execute(
                    "UPDATE webhooks SET cursor_seq = $2 WHERE id = $1",
                    row["id"],
                    changes[-1]["seq"],
                )

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """Claim due deliveries (a lease), send them, record the outcomes; how many were sent."""
        claimed = await self.pool.fetch(
            """UPDATE webhook_deliveries d SET next_attempt_at = now() + $1::interval
               FROM webhooks w
               WHERE d.id IN (SELECT id FROM webhook_deliveries
                              WHERE status = 'pending' AND next_attempt_at <= now()
                              ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
                 AND w.id = d.webhook_id
               RETURNING d.id, d.webhook_id, d.payload, d.attempts, w.url, w.secret, w.status""",
            LEASE,
        )
        await asyncio.gather(*(self._send(client, row) for row in claimed))
        return len(claimed)

    async def _send(self, client: httpx.AsyncClient, row: Any) -> None:
        body = bytes(row["payload"]).decode()
        message_id = str(row["id"])
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/cloudevents+json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(row["secret"]).sign(message_id, now, body),
        }
        status, error, retry_after = None, None, None
        try:
            await check_target(row["url"], self.settings.webhooks_allow_private)
            response = await client.post(row["url"], content=body, headers=headers)
            status = response.status_code
            retry_after = _retry_after(response.headers.get("retry-after"))
        except (httpx.HTTPError, ValueError) as failure:
            error = str(failure)[:500] or type(failure).__name__
        await self._record(row, status, error, retry_after)

    async def _record(
        self, row: Any, status: int | None, error: str | None, retry_after: float | None
    ) -> None:
        attempts = row["attempts"] + 1
        if status is not None and 200 <= status < 300:
            await self.pool.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, "
                "last_status = $3, last_error = NULL, delivered_at = now() WHERE id = $1",
                row["id"], attempts, status,
            )  # fmt: skip
            return
        if status == 410:  # the receiver says it is gone: stop sending
            await self.pool.execute("UPDATE webhooks SET status = 'disabled' WHERE id = $1",
                                    row["webhook_id"])  # fmt: skip
            await self.pool.execute(
                "UPDATE webhook_deliveries SET status = 'disabled', attempts = $2, last_status = "
                "410 WHERE webhook_id = $1 AND status = 'pending'",
                row["webhook_id"], attempts,
            )  # fmt: skip
            return
        dead = attempts >= self.settings.webhook_max_attempts
        delay = retry_after if retry_after is not None else self._backoff(attempts)
        await self.pool.execute(
            "UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status = $4, "
            "last_error = $5, next_attempt_at = now() + $6::interval WHERE id = $1",
            row["id"], "dead" if dead else "pending", attempts, status, error,
            timedelta(seconds=delay),
        )  # fmt: skip

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, capped at an hour."""
        ceiling = min(3600.0, self.settings.webhook_backoff_seconds * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return min(3600.0, max(0.0, float(value)))
    return None


def _delivery_id(webhook_id: Any, seq: int) -> Any:
    import uuid

    return uuid.uuid5(webhook_id, str(seq))
