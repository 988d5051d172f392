"""The projector: tails the log in gap-free order and keeps every projection's facts.

One process at a time is active per projection: it holds a session advisory lock on a dedicated
connection, and if it dies the lock goes with its connection and another instance takes over
within ``poll_interval`` seconds. Facts and checkpoint move in one transaction, under a row lock
on the checkpoint that also fences off a former holder that has not noticed it lost the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import msgspec

from events.catalogue import event_class, upcast
from events.store import READ_LOG
from projections.changes import record_changes
from projections.facts import KEYS, PROJECTIONS, Keys, entity_keys
from projections.store import FACT_COLUMNS, ensure_state

log = logging.getLogger("accordlog.projector")

_EVENTS = READ_LOG.format(
    columns="position, transaction_id, id, stream, type, schema_version, data, corrects"
)
# Every projection but `parties` serves the entities of one kind of stream (programs: the
# `program-*` streams), and corrections and retractions stay in their target's stream: the
# entity is the stream's name without its prefix, and the payload need not even be read.
_BY_STREAM = READ_LOG.format(columns="position, transaction_id, stream")
_PREFIX = {
    "programs": "program-", "memberships": "program-", "leases": "lease-",
    "missions": "mission-", "agreements": "agreement-", "organizations": "organization-",
}  # fmt: skip


def lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key per projection."""
    return int.from_bytes(hashlib.sha256(f"accordlog:{name}".encode()).digest()[:8], "big") >> 1


class Projector:
    """Keeps the named projections up to date for as long as ``run`` runs."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        names: Sequence[str] = PROJECTIONS,
        *,
        batch_size: int = 1_000,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.names = list(names)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.active: set[str] = set()
        self._wake = asyncio.Event()
        self._lock_connection: asyncpg.Connection | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Take locks, catch up, then follow the log until ``stop`` is set."""
        await ensure_state(self.pool)
        try:
            while not stop.is_set():
                self._wake.clear()  # before catching up: a NOTIFY that arrives meanwhile counts
                try:
                    await self.acquire()
                    for name in sorted(self.active):
                        await self.catch_up(name)
                    await self._rebuild_requested()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    log.warning("projector: %s; retrying", error)
                    await self.release()
                await self._sleep(stop)
        finally:
            await self.release()

    async def _rebuild_requested(self) -> None:
        """Rebuild projections an admin asked for (the flag is cleared when it starts)."""
        names = await self.pool.fetch(
            "UPDATE projection_state SET rebuild_requested = false "
            "WHERE rebuild_requested AND name = ANY($1::text[]) RETURNING name",
            sorted(self.active),
        )
        for row in names:
            log.info("projector: rebuilding %s", row["name"])
            await self.rebuild(row["name"])

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until a NOTIFY from an append, ``stop``, or the poll interval (NOTIFY can be lost)."""
        waits = {asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())}
        try:
            await asyncio.wait(waits, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for task in waits:
                task.cancel()

    async def acquire(self) -> None:
        """Become active for every named projection whose lock is free."""
        if self._lock_connection is None or self._lock_connection.is_closed():
            self.active.clear()
            self._lock_connection = await asyncpg.connect(self.dsn)
            await self._lock_connection.add_listener("accordlog_events", self._notified)
        for name in self.names:
            if name not in self.active and await self._lock_connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", lock_key(name)
            ):
                self.active.add(name)
                log.info("projector: active for %s", name)

    async def release(self) -> None:
        """Give up every lock (closing the lock connection releases them)."""
        self.active.clear()
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def catch_up(self, name: str, progress: Callable[[int], None] | None = None) -> int:
        """Apply batches to ``name`` until the log's safe end; the number of events applied."""
        total = 0
        while (applied := await self.apply_batch(name)) > 0:
            total += applied
            if progress is not None:
                progress(applied)
        return total

    async def apply_batch(self, name: str) -> int:
        """Apply the next batch after the checkpoint, rows and checkpoint in one transaction.

        The batch is read and prepared first; the write transaction (which takes a transaction
        id, and so holds back every gap-free log reader while it is open) only locks the
        checkpoint, checks it has not moved, copies the rows and moves it.
        """
        async with self.pool.acquire() as connection:
            state = await connection.fetchrow(
                "SELECT generation, checkpoint_xid, checkpoint_position FROM projection_state "
                "WHERE name = $1",
                name,
            )
            cursor = (state["checkpoint_xid"], state["checkpoint_position"])
            generation = state["generation"]
            records, count, after = await self._prepare(connection, name, generation, cursor)
            if not count:
                return 0
            async with connection.transaction():
                moved = await connection.fetchval(
                    "SELECT (generation, checkpoint_xid, checkpoint_position) <> ($2, $3, $4) "
                    "FROM projection_state WHERE name = $1 FOR UPDATE",
                    name, generation, *cursor,
                )  # fmt: skip
                if moved:  # another holder (or a rebuild) got there first: nothing applied
                    return 0
                await self._write(connection, records)
                touched: dict[str, int] = {}  # entity -> position of the latest event touching it
                for record in records:
                    touched[record[2]] = max(touched.get(record[2], 0), record[4])
                await record_changes(connection, name, generation, touched)
                await connection.execute(
                    "UPDATE projection_state SET checkpoint_xid = $2, checkpoint_position = $3, "
                    "applied_events = applied_events + $4, status = 'running', "
                    "updated_at = now() WHERE name = $1",
                    name, *after, count,
                )  # fmt: skip
            return count

    async def _apply(
        self, connection: asyncpg.Connection, name: str, generation: int, cursor: tuple[int, int]
    ) -> tuple[int, tuple[int, int]]:
        records, count, after = await self._prepare(connection, name, generation, cursor)
        await self._write(connection, records)
        return count, after

    async def _write(self, connection: asyncpg.Connection, records: list[tuple[Any, ...]]) -> None:
        if records:
            records.sort()  # in index order: the primary key takes them with fewer page visits
            await connection.copy_records_to_table(
                "projection_facts", records=records, columns=FACT_COLUMNS
            )

    async def _prepare(
        self, connection: asyncpg.Connection, name: str, generation: int, cursor: tuple[int, int]
    ) -> tuple[list[tuple[Any, ...]], int, tuple[int, int]]:
        """The fact rows for the batch after ``cursor``, its size, and the cursor after it."""
        prefix = _PREFIX.get(name)
        query = _EVENTS if prefix is None else _BY_STREAM
        rows = await connection.fetch(query, *cursor, None, None, self.batch_size)
        if not rows:
            return [], 0, cursor
        if prefix is None:
            records = await _fact_records(connection, name, generation, rows)
        else:
            records = [
                (name, generation, row["stream"].removeprefix(prefix), row["transaction_id"],
                 row["position"])
                for row in rows
                if row["stream"].startswith(prefix)
            ]  # fmt: skip
        return records, len(rows), (rows[-1]["transaction_id"], rows[-1]["position"])

    async def rebuild(self, name: str, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild ``name`` into a new generation beside the live one, then swap.

        The caller holds the projection's lock (this projector is active for it), so the live
        generation does not move meanwhile; readers keep reading it until the swap commits.
        """
        state = await self.pool.fetchrow(
            "SELECT generation FROM projection_state WHERE name = $1", name
        )
        old, new = state["generation"], state["generation"] + 1
        await self._delete_generation(name, new)  # leftovers of an interrupted rebuild
        await self.pool.execute(
            "UPDATE projection_state SET status = 'rebuilding' WHERE name = $1", name
        )
        cursor, total = (0, 0), 0
        while True:
            async with self.pool.acquire() as connection, connection.transaction():
                count, cursor = await self._apply(connection, name, new, cursor)
            if not count:
                break
            total += count
            if progress is not None:
                progress(count)
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT 1 FROM projection_state WHERE name = $1 FOR UPDATE", name
            )
            while (step := await self._apply(connection, name, new, cursor))[0]:
                total += step[0]
                cursor = step[1]
            await connection.execute(
                "UPDATE projection_state SET generation = $2, checkpoint_xid = $3, "
                "checkpoint_position = $4, applied_events = $5, status = 'running', "
                "updated_at = now() WHERE name = $1",
                name, new, cursor[0], cursor[1], total,
            )  # fmt: skip
        await self._delete_generation(name, old)
        return total

    async def _delete_generation(self, name: str, generation: int) -> None:
        await self.pool.execute(
            "DELETE FROM projection_facts WHERE projection = $1 AND generation = $2",
            name, generation,
        )  # fmt: skip


async def _fact_records(
    connection: asyncpg.Connection, name: str, generation: int, rows: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Fact rows for a batch; corrections and retractions follow their target's entities."""
    records: list[tuple[Any, ...]] = []
    known: dict[Any, tuple[str, ...]] = {}
    for row in rows:
        fields = _keys(row)
        keys = entity_keys(name, row["type"], fields)
        target = fields.event_id if row["type"] == "event.retracted" else row["corrects"]
        if target is not None:
            keys = tuple(
                dict.fromkeys((*keys, *await _entities_of(connection, name, target, known)))
            )
        known[row["id"]] = keys
        records.extend(
            (name, generation, key, row["transaction_id"], row["position"]) for key in keys
        )
    return records


def _keys(row: Any) -> Keys:
    data = row["data"]
    if row["schema_version"] < event_class(row["type"]).schema_version:
        lifted = upcast(row["type"], row["schema_version"], msgspec.json.decode(data))
        return msgspec.convert(lifted, Keys)
    return KEYS.decode(data)


async def _entities_of(
    connection: asyncpg.Connection, name: str, event_id: Any, known: dict[Any, tuple[str, ...]]
) -> tuple[str, ...]:
    """The entities an earlier event went to: its own, and (for a correction) its target's."""
    if event_id in known:
        return known[event_id]
    row = await connection.fetchrow(
        "SELECT id, type, schema_version, data, corrects FROM events WHERE id = $1", event_id
    )
    if row is None:
        return ()
    keys = entity_keys(name, row["type"], _keys(row))
    if row["corrects"] is not None:
        keys = tuple(
            dict.fromkeys((*keys, *await _entities_of(connection, name, row["corrects"], known)))
        )
    known[event_id] = keys
    return keys
