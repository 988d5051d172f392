"""Resolving a stream's history: corrections replace, retractions remove.

Pure functions shared by the write side (domain rules) and the read side (projections), so both
agree on what a stream says once its corrections and retractions are applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from events.base import DomainEvent
from events.retraction import EventRetracted


class Recorded(Protocol):
    """What resolution needs of a recorded event."""

    @property
    def id(self) -> UUID: ...
    @property
    def event(self) -> DomainEvent: ...
    @property
    def corrects(self) -> UUID | None: ...


R = TypeVar("R", bound=Recorded)


@dataclass(frozen=True, slots=True)
class Slot(Generic[R]):
    """One fact of a stream: the original record and the version of it that stands now."""

    original: R
    current: R


def resolve(records: Iterable[R]) -> list[Slot[R]]:
    """The facts a stream states, in order of their first report.

    A correction takes its root's place (the latest non-retracted correction wins); a retracted
    root disappears; retracting a correction lets the one before it stand again.
    """
    ordered: list[R] = []
    root_of: dict[UUID, UUID] = {}
    retracted: set[UUID] = set()
    for record in records:
        if isinstance(record.event, EventRetracted):
            retracted.add(record.event.event_id)
            continue
        if record.corrects is not None:
            root_of[record.id] = root_of.get(record.corrects, record.corrects)
        else:
            root_of[record.id] = record.id
        ordered.append(record)
    return _slots(ordered, root_of, retracted)


def _slots(ordered: Sequence[R], root_of: dict[UUID, UUID], retracted: set[UUID]) -> list[Slot[R]]:
    originals: dict[UUID, R] = {}
    current: dict[UUID, R] = {}
    for record in ordered:
        root = root_of[record.id]
        if record.id == root:
            originals[root] = record
        if record.id not in retracted and root in originals:
            current[root] = record
    return [
        Slot(original, current[root])
        for root, original in originals.items()
        if root not in retracted and root in current
    ]
