"""The event store: atomic, idempotent batch append and gap-free reads, on asyncpg."""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from events.catalogue import decode_payload, event_class, load_stored, upcast
from events.envelope import NewEvent, RecordedEvent, Source
from events.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    UnknownCursor,
    WrongExpectedVersion,
)
from events.retraction import EventRetracted
from events.rules import DomainRuleViolation, Entry, StreamState, decide_all

# Each lost race re-reads the stream and tries again; many writers on one hot stream need several.
MAX_ATTEMPTS = 32


async def init_connection(connection: asyncpg.Connection) -> None:
    """jsonb in binary format through msgspec; decoded values stay raw bytes until needed."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: b"\x01" + msgspec.json.encode(value),
        decoder=lambda data: msgspec.Raw(data[1:]),
        format="binary",
    )


class Appended(NamedTuple):
    """Where one event landed."""

    id: UUID
    stream: str
    version: int
    position: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The outcome of an append; ``created`` is false for an idempotent replay."""

    events: list[Appended]
    created: bool

    @property
    def position(self) -> int:
        return max(event.position for event in self.events)


class _Metadata(msgspec.Struct, frozen=True, omit_defaults=True):
    source: Source | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


_METADATA = msgspec.json.Decoder(_Metadata)

_COLUMNS = """id, stream, version, position, type, schema_version, effective, effective_lower,
    effective_upper, reported_on, recorded_at, data, corrects, metadata"""

_INSERT_ONE = """
INSERT INTO events (id, stream, version, type, schema_version, effective, effective_lower,
                    effective_upper, reported_on, corrects, data, metadata, digest)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, (now() AT TIME ZONE 'UTC')::date),
        $10, $11, $12, $13)
RETURNING position
"""

_INSERT_MANY = """
INSERT INTO events (id, stream, version, type, schema_version, effective, effective_lower,
                    effective_upper, reported_on, corrects, data, metadata, digest)
SELECT id, stream, version, type, schema_version, effective, lower_bound, upper_bound,
       COALESCE(reported_on, (now() AT TIME ZONE 'UTC')::date), corrects, data, metadata, digest
FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::int2[], $6::text[], $7::date[],
            $8::date[], $9::date[], $10::uuid[], $11::jsonb[], $12::jsonb[], $13::bytea[])
     WITH ORDINALITY AS batch(id, stream, version, type, schema_version, effective, lower_bound,
                              upper_bound, reported_on, corrects, data, metadata, digest, n)
ORDER BY n
RETURNING position
"""

# Why (transaction_id, position) and the xmin horizon: positions come from a sequence when a row
# is inserted, but transactions commit in any order, so position 11 can be visible while 10 is
# still uncommitted; a reader that moved its cursor past 11 would never see 10. Instead the log
# is ordered by (transaction id, position) and a read stops below the oldest transaction still
# running in its own snapshot (pg_snapshot_xmin): every transaction below that has committed
# (and is visible to this very statement) or aborted, so nothing can ever appear behind a cursor.
READ_LOG = """
SELECT {columns} FROM events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  AND ($3::text[] IS NULL OR type = ANY($3::text[]))
  AND ($4::text IS NULL OR stream = $4::text)
ORDER BY transaction_id, position
LIMIT $5
"""
_READ_LOG = READ_LOG.format(columns=_COLUMNS)
# The newest events under the same horizon: the log index read backwards, reversed in Python.
_READ_TAIL = READ_LOG.replace(
    "ORDER BY transaction_id, position", "ORDER BY transaction_id DESC, position DESC"
).format(columns=_COLUMNS)


class EventStore:
    """Appends to and reads from the ``events`` table through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, *, cache_size: int = 10_000) -> None:
        self._pool = pool
        self._cache: OrderedDict[str, StreamState] = OrderedDict()
        self._cache_size = cache_size

    # -- append ---------------------------------------------------------------------------------

    async def append(
        self, events: Sequence[NewEvent], *, expected_version: int | None = None
    ) -> AppendResult:
        """Append a batch atomically; a retry of a stored batch returns the original result.

        ``expected_version`` (single-stream batches) must equal the stream's version first.
        """
        async with self._pool.acquire() as connection:
            streams = await self._streams_of(connection, events)
            if expected_version is not None and len(set(streams)) != 1:
                raise DomainRuleViolation(
                    "if-match-single-stream", "applies to a batch on one stream only", "If-Match"
                )
            verified: set[str] = set()  # streams read from the database during this append
            for attempt in range(MAX_ATTEMPTS):
                result = await self._try_append(
                    connection, events, streams, expected_version, verified
                )
                if result is None and attempt >= 2:  # contended: back off a little, with jitter
                    await asyncio.sleep(random.uniform(0, 0.001 * attempt))
                if result is not None:
                    return result
        raise ConcurrencyConflict("the streams kept changing under this batch; retry it")

    async def _try_append(
        self,
        connection: asyncpg.Connection,
        events: Sequence[NewEvent],
        streams: list[str],
        expected_version: int | None,
        verified: set[str],
    ) -> AppendResult | None:
        # A stream not in the cache is first assumed new: if the rules accept the events on an
        # empty history, the insert at version 1 either lands (it was new) or hits the unique
        # (stream, version) key; only then, or when the rules refuse, is its history read.
        # A refusal or a version mismatch is only reported once checked against the database.
        states = await self._states(
            connection, streams, verified, load=expected_version is not None
        )
        if expected_version is not None:
            if any(states[s].get(new.id) for new, s in zip(events, streams, strict=True)):
                return await self._replay(connection, events)
            state = states[streams[0]]
            if state.version != expected_version:
                if state.stream not in verified:
                    await self._reload(connection, [state.stream], verified)
                    return None
                raise WrongExpectedVersion(state.stream, expected_version, state.version)
        by_stream: dict[str, list[int]] = {}
        for n, stream in enumerate(streams):
            by_stream.setdefault(stream, []).append(n)
        decided: dict[str, StreamState] = {}
        for stream, indexes in by_stream.items():
            entries = [Entry(events[n].id, events[n].event, events[n].corrects) for n in indexes]
            try:
                decided[stream] = decide_all(states[stream], entries)
            except DomainRuleViolation as violation:
                if violation.rule == "duplicate-id":  # stored already: a retry
                    return await self._replay(connection, events)
                if stream not in verified:
                    await self._reload(connection, [stream], verified)
                    return None
                refused = events[indexes[violation.index or 0]]
                raise violation.at(refused.pointer) from None
        next_version = {stream: state.version for stream, state in states.items()}
        rows = []
        for new, stream in zip(events, streams, strict=True):
            next_version[stream] += 1
            rows.append(_row(new, stream, next_version[stream]))
        try:
            positions = await _insert(connection, rows)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_id_key":
                return await self._replay(connection, events)
            await self._reload(connection, list(states), verified)
            return None
        self._remember(decided)
        return AppendResult(
            [Appended(r[0], r[1], r[2], p) for r, p in zip(rows, positions, strict=True)], True
        )

    async def _states(
        self, connection: asyncpg.Connection, streams: list[str], verified: set[str], *, load: bool
    ) -> dict[str, StreamState]:
        """Cached states; a missing one is read (``load``) or assumed new."""
        missing = [s for s in dict.fromkeys(streams) if s not in self._cache]
        if load and missing:
            await self._reload(connection, missing, verified)
        states = {}
        for stream in dict.fromkeys(streams):
            cached = self._cache.get(stream)
            if cached is not None:
                self._cache.move_to_end(stream)
            states[stream] = cached or StreamState(stream)
        return states

    async def _reload(
        self, connection: asyncpg.Connection, streams: Iterable[str], verified: set[str]
    ) -> None:
        loaded = {s: await self._load(connection, s) for s in streams}
        self._remember(loaded)
        verified.update(loaded)

    async def _replay(
        self, connection: asyncpg.Connection, events: Sequence[NewEvent]
    ) -> AppendResult:
        """The original result of a batch already stored, or IdempotencyConflict."""
        ids = [new.id for new in events]
        rows = await connection.fetch(
            "SELECT id, stream, version, position, digest FROM events WHERE id = ANY($1::uuid[])",
            ids,
        )
        stored = {row["id"]: row for row in rows}
        for new in events:
            row = stored.get(new.id)
            if row is None or row["digest"] != new.digest:
                raise IdempotencyConflict(next(i for i in ids if i in stored))
        appended = [
            Appended(i, stored[i]["stream"], stored[i]["version"], stored[i]["position"])
            for i in ids
        ]
        return AppendResult(appended, False)

    async def _streams_of(
        self, connection: asyncpg.Connection, events: Sequence[NewEvent]
    ) -> list[str]:
        """Each event's stream; a retraction joins the stream of the event it retracts."""
        streams = []
        for new in events:
            if isinstance(new.event, EventRetracted):
                target = new.event.event_id
                stream = await connection.fetchval(
                    "SELECT stream FROM events WHERE id = $1", target
                )
                if stream is None:
                    raise DomainRuleViolation(
                        "unknown-target", f"data.event_id: no stored event {target}"
                    ).at(new.pointer)
                streams.append(stream)
            else:
                streams.append(new.event.stream)
        return streams

    async def _load(self, connection: asyncpg.Connection, stream: str) -> StreamState:
        rows = await connection.fetch(
            "SELECT id, type, schema_version, data, corrects FROM events "
            "WHERE stream = $1 ORDER BY version",
            stream,
        )
        entries = [
            Entry(
                row["id"], _load(row["type"], row["schema_version"], row["data"]), row["corrects"]
            )
            for row in rows
        ]
        return StreamState.of(stream, entries)

    def _remember(self, states: dict[str, StreamState]) -> None:
        for stream, state in states.items():
            self._cache[stream] = state
            self._cache.move_to_end(stream)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # -- read -----------------------------------------------------------------------------------

    async def read_stream(self, stream: str) -> list[RecordedEvent]:
        """Every event of a stream in version order (empty when the stream does not exist)."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream = $1 ORDER BY version", stream
        )
        return [_recorded(row) for row in rows]

    async def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of ``ids`` are stored already."""
        rows = await self._pool.fetch("SELECT id FROM events WHERE id = ANY($1::uuid[])", ids)
        return {row["id"] for row in rows}

    async def get(self, event_id: UUID) -> RecordedEvent | None:
        """One event by id."""
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM events WHERE id = $1", event_id)
        return None if row is None else _recorded(row)

    async def read_log(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        types: Sequence[str] | None = None,
        stream: str | None = None,
        tail: bool = False,
    ) -> list[RecordedEvent]:
        """The global log after the event at position ``after`` (0: from the start).

        ``tail``: the last ``limit`` of those events instead of the first, still in log order.
        """
        async with self._pool.acquire() as connection:
            cursor = (0, 0)
            if after > 0:
                xid = await connection.fetchval(
                    "SELECT transaction_id FROM events WHERE position = $1", after
                )
                if xid is None:
                    raise UnknownCursor(f"after: no event at position {after}")
                cursor = (xid, after)
            rows = await connection.fetch(
                _READ_TAIL if tail else _READ_LOG,
                cursor[0], cursor[1], list(types) if types else None, stream, limit,
            )  # fmt: skip
        return [_recorded(row) for row in (reversed(rows) if tail else rows)]


def _row(new: NewEvent, stream: str, version: int) -> tuple[Any, ...]:
    return (
        new.id,
        stream,
        version,
        new.event.type_name(),
        new.event.schema_version,
        new.effective.text,
        new.effective.lower,
        new.effective.upper,
        new.reported_on,
        new.corrects,
        msgspec.structs.asdict(new.event),
        new.metadata,
        new.digest,
    )


async def _insert(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> list[int]:
    if len(rows) == 1:
        return [await connection.fetchval(_INSERT_ONE, *rows[0])]
    columns = list(zip(*rows, strict=True))
    records = await connection.fetch(_INSERT_MANY, *columns)
    return [record[0] for record in records]


def _load(type_name: str, schema_version: int, data: msgspec.Raw) -> Any:
    if schema_version >= event_class(type_name).schema_version:
        return decode_payload(type_name, data)
    return load_stored(type_name, schema_version, msgspec.json.decode(data))


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    metadata = _METADATA.decode(row["metadata"])
    data = row["data"]
    if row["schema_version"] < event_class(row["type"]).schema_version:
        lifted = upcast(row["type"], row["schema_version"], msgspec.json.decode(data))
        data = msgspec.Raw(msgspec.json.encode(lifted))
    return RecordedEvent(
        id=row["id"],
        stream=row["stream"],
        version=row["version"],
        position=row["position"],
        type=row["type"],
        schema_version=event_class(row["type"]).schema_version,
        effective=row["effective"],
        effective_lower=row["effective_lower"],
        effective_upper=row["effective_upper"],
        reported_on=row["reported_on"],
        recorded_at=row["recorded_at"],
        data=data,
        corrects=row["corrects"],
        source=metadata.source,
        correlation_id=metadata.correlation_id,
        causation_id=metadata.causation_id,
    )
