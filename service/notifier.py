"""Wake-ups for change streams: one LISTEN connection per process, fanned out in memory.

NOTIFY is only a hint (sent at commit, not durable): subscribers always read the change table,
and poll once a second anyway, so a lost notification costs at most a second. The LISTEN
connection is watched and made again when the database goes away and comes back; every waiter
is woken on reconnection, since notifications sent meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

log = logging.getLogger("accordlog.notifier")
CHANNEL = "accordlog_changes"
ANY = "*"  # a waiter for changes of any projection
CHECK_SECONDS = 5.0
MAX_BACKOFF = 5.0


class ChangeNotifier:
    """Per projection, an event that is set (and replaced) whenever its changes move on."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._events: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        """Listen in the background; return once connected, or after one failed try."""
        self._task = asyncio.create_task(self._listen_forever())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), 5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def waiter(self, projection: str) -> asyncio.Event:
        """Take this before reading; it is set by the next change after that."""
        return self._events.setdefault(projection, asyncio.Event())

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._listen_once()
                backoff = 0.1
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("change notifications lost (%s); streams poll meanwhile", error)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _listen_once(self) -> None:
        """Hold one LISTEN connection until it dies (checked every few seconds)."""
        connection = await asyncpg.connect(self.dsn, timeout=5)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, self._notified)
            self.connected.set()
            self._wake_all()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=CHECK_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _wake_all(self) -> None:
        events, self._events = self._events, {}
        for event in events.values():
            event.set()

    def _notified(self, _connection: Any, _pid: int, _channel: str, projection: str) -> None:
        for key in (projection, ANY):
            event = self._events.pop(key, None)
            if event is not None:
                event.set()
