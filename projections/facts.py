"""What a projection keeps: the events that speak about each entity it serves (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import msgspec

from events.base import DomainEvent
from events.dates import DateBounds
from events.envelope import Source
from events.history import resolve
from events.retraction import EventRetracted

PROJECTIONS = (
    "programs",
    "memberships",
    "leases",
    "missions",
    "agreements",
    "organizations",
    "parties",
)


@dataclass(frozen=True, slots=True)
class Fact:
    """An event as a view folds it: payload, time axes and place in the log."""

    id: UUID
    event: DomainEvent
    corrects: UUID | None
    stream: str
    effective: DateBounds
    reported_on: date
    position: int
    source: Source | None = None


class Keys(msgspec.Struct, frozen=True):
    """The fields of any payload that name entities; decoded without validation (the events
    were validated on write), which keeps rebuilds fast."""

    program: str | None = None
    party: str | None = None
    lease: str | None = None
    mission: str | None = None
    agreement: str | None = None
    organization: str | None = None
    led_by: tuple[str, ...] = ()
    lessor: str | None = None
    lessee: str | None = None
    parties: tuple[str, ...] = ()
    founders: tuple[str, ...] = ()
    operator: str | None = None
    event_id: UUID | None = None


KEYS = msgspec.json.Decoder(Keys)
_OWNER = {
    "programs": ("program", "program."),
    "memberships": ("program", "program."),
    "leases": ("lease", "lease."),
    "missions": ("mission", "mission."),
    "agreements": ("agreement", "agreement."),
    "organizations": ("organization", "organization."),
}


def entities(projection: str, event: DomainEvent) -> tuple[str, ...]:
    """The entities of ``projection`` an event speaks about (corrections and retractions aside)."""
    return entity_keys(projection, event.type_name(), msgspec.convert(
        msgspec.structs.asdict(event), Keys
    ))  # fmt: skip


def entity_keys(projection: str, type_name: str, keys: Keys) -> tuple[str, ...]:
    """:func:`entities` on the decoded key fields of a payload."""
    if type_name == "event.retracted":
        return ()
    if projection == "parties":
        named = (keys.party, *keys.led_by, keys.lessor, keys.lessee, *keys.parties,
                 *keys.founders, keys.operator)  # fmt: skip
        return tuple(dict.fromkeys(p for p in named if p is not None))
    field, prefix = _OWNER[projection]
    if type_name.startswith(prefix) or (
        prefix == "program." and type_name.startswith("membership.")
    ):
        value = getattr(keys, field)
        return () if value is None else (value,)
    return ()


def known(facts: Iterable[Fact], known_at: date | None) -> list[Fact]:
    """The facts that stand as known on ``known_at`` (None: with full hindsight).

    ``facts`` come in log order. Only events reported on or before ``known_at`` count; then
    corrections replace and retractions remove, each from its own ``reported_on``.
    """
    visible = [f for f in facts if known_at is None or f.reported_on <= known_at]
    return [slot.current for slot in resolve(visible)]


def by_valid_time(facts: Sequence[Fact]) -> list[Fact]:
    """Facts in valid-time order (open starts first), ties in log order."""
    return sorted(facts, key=lambda f: (f.effective.lower or date.min, f.position))


def group_by_entity(projection: str, facts: Iterable[Fact]) -> dict[str, list[Fact]]:
    """What the projector stores, computed in memory from facts in log order.

    A correction also joins its target's entities, a retraction only its target's, so that
    every entity sees the corrections and retractions of the facts it holds.
    """
    keys_of: dict[UUID, tuple[str, ...]] = {}
    grouped: dict[str, list[Fact]] = {}
    for fact in facts:
        event = fact.event
        if isinstance(event, EventRetracted):
            keys = keys_of.get(event.event_id, ())
        else:
            keys = entities(projection, event)
            if fact.corrects is not None:
                keys = tuple(dict.fromkeys((*keys, *keys_of.get(fact.corrects, ()))))
        keys_of[fact.id] = keys
        for key in keys:
            grouped.setdefault(key, []).append(fact)
    return grouped
