"""Projection storage: facts per entity and checkpoints, in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from events.catalogue import decode_payload, event_class, load_stored
from events.dates import DateBounds
from events.envelope import Source
from projections.facts import PROJECTIONS, Fact

_SOURCE = msgspec.json.Decoder(Source | None)

FACT_COLUMNS = ("projection", "generation", "entity", "log_xid", "position")


FACT_SELECT = """e.id, e.type, e.schema_version, e.stream, e.position, e.corrects, e.effective,
    e.effective_lower, e.effective_upper, e.reported_on, e.data, e.metadata->'source' AS source"""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a projection has applied the log, and which generation readers see."""

    name: str
    generation: int
    xid: int
    position: int
    applied: int
    status: str


async def ensure_state(connection: asyncpg.Connection | asyncpg.Pool) -> None:
    """One state row per projection (idempotent)."""
    await connection.execute(
        "INSERT INTO projection_state (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        list(PROJECTIONS),
    )


async def checkpoint(connection: asyncpg.Connection | asyncpg.Pool, name: str) -> Checkpoint:
    row = await connection.fetchrow(
        "SELECT name, generation, checkpoint_xid, checkpoint_position, applied_events, status "
        "FROM projection_state WHERE name = $1",
        name,
    )
    if row is None:
        raise LookupError(name)
    return Checkpoint(*row.values())


def fact_of(row: Any) -> Fact:
    """An ``events`` row (see ``FACT_SELECT``) as a Fact; bounds come from columns."""
    type_name = row["type"]
    data = row["data"]
    schema_version = row["schema_version"]
    if schema_version < event_class(type_name).schema_version:
        event = load_stored(type_name, schema_version, msgspec.json.decode(data))
    else:
        event = decode_payload(type_name, data)
    source = row["source"]
    return Fact(
        id=row["id"],
        event=event,
        corrects=row["corrects"],
        stream=row["stream"],
        effective=DateBounds(row["effective"], row["effective_lower"], row["effective_upper"]),
        reported_on=row["reported_on"],
        position=row["position"],
        source=None if source is None else _SOURCE.decode(source),
    )
