"""What a projection keeps: the events that speak about each entity it serves (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from events.agreement import AgreementSigned
from events.base import DomainEvent
from events.dates import DateBounds
from events.envelope import Source
from events.history import resolve
from events.lease import LeaseEvent, LeaseSigned
from events.mission import MissionAnnounced, MissionEvent
from events.organization import OrganizationEvent
from events.program import MembershipSigned, MembershipWithdrawn, ProgramEstablished, ProgramEvent
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


def entities(projection: str, event: DomainEvent) -> tuple[str, ...]:
    """The entities of ``projection`` an event speaks about (corrections and retractions aside)."""
    match projection, event:
        case (("programs" | "memberships"), ProgramEvent(program=program)):
            return (program,)
        case "leases", LeaseEvent(lease=lease):
            return (lease,)
        case "missions", MissionEvent(mission=mission):
            return (mission,)
        case "agreements", AgreementSigned(agreement=agreement):
            return (agreement,)
        case "organizations", OrganizationEvent(organization=organization):
            return (organization,)
        case "parties", _:
            return _parties(event)
    return ()


def _parties(event: DomainEvent) -> tuple[str, ...]:
    match event:
        case MembershipSigned(party=party) | MembershipWithdrawn(party=party):
            return (party,)
        case ProgramEstablished(led_by=led_by):
            return tuple(dict.fromkeys(led_by))
        case LeaseSigned(lessor=lessor, lessee=lessee):
            return tuple(dict.fromkeys((lessor, lessee)))
        case AgreementSigned(parties=parties):
            return tuple(dict.fromkeys(parties))
        case OrganizationEvent(founders=founders):
            return tuple(dict.fromkeys(founders))
        case MissionAnnounced(operator=operator) if operator is not None:
            return (operator,)
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
