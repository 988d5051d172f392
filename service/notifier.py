"""Wake-ups for change streams: one LISTEN connection per process, fanned out in memory.

NOTIFY is only a hint (sent at commit, not durable): subscribers always read the change table,
and poll once a second anyway, so a lost notification costs at most a second.
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


class ChangeNotifier:
    """Per projection, an event that is set (and replaced) whenever its changes move on."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._events: dict[str, asyncio.Event] = {}
        self._connection: asyncpg.Connection | None = None

    async def start(self) -> None:
        try:
            self._connection = await asyncpg.connect(self.dsn)
            await self._connection.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("change notifications unavailable (%s); streams will poll", error)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)

    def waiter(self, projection: str) -> asyncio.Event:
        """Take this before reading; it is set by the next change after that."""
        return self._events.setdefault(projection, asyncio.Event())

    def _notified(self, _connection: Any, _pid: int, _channel: str, projection: str) -> None:
        for key in (projection, ANY):
            event = self._events.pop(key, None)
            if event is not None:
                event.set()
