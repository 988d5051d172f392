"""The change log: after each applied batch, the new view of every entity it touched."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from projections.facts import Fact, known
from projections.folds import current_view
from projections.store import FACT_SELECT, fact_of

_TOUCHED = f"""
SELECT f.entity, {FACT_SELECT}
FROM projection_facts f JOIN events e ON e.position = f.position
WHERE f.projection = $1 AND f.generation = $2 AND f.entity = ANY($3::text[])
ORDER BY f.entity, f.log_xid, f.position
"""


async def record_changes(
    connection: asyncpg.Connection,
    name: str,
    generation: int,
    touched: Mapping[str, int],
) -> int:
    """Append one change per touched entity (inside the caller's transaction, which holds the
    checkpoint's row lock); ``touched`` maps each entity to the position that caused its change.
    Return how many were recorded."""
    entities = sorted(set(touched))
    if not entities:
        return 0
    rows = await connection.fetch(_TOUCHED, name, generation, entities)
    facts: dict[str, list[Fact]] = {entity: [] for entity in entities}
    for row in rows:
        facts[row["entity"]].append(fact_of(row))
    today = datetime.now(UTC).date()
    seq = await connection.fetchval("SELECT change_seq FROM projection_state WHERE name = $1", name)
    changes: list[tuple[Any, ...]] = []
    for entity in entities:
        view = current_view(name, entity, known(facts[entity], None), today)
        seq += 1
        row = None if view is None else msgspec.Raw(msgspec.json.encode(view))
        op = "delete" if view is None else "upsert"
        changes.append((name, seq, entity, op, row, touched[entity]))
    await connection.copy_records_to_table(
        "projection_changes",
        records=changes,
        columns=("projection", "seq", "entity", "op", "row", "position"),
    )
    await connection.execute(
        "UPDATE projection_state SET change_seq = $2 WHERE name = $1", name, seq
    )
    await connection.execute("SELECT pg_notify('accordlog_changes', $1)", name)  # at commit
    return len(changes)
