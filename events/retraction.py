"""Retractions: an event that removes an earlier one from every view from then on."""

from __future__ import annotations

from uuid import UUID

from events.base import DomainEvent
from events.vocabulary import Text


class EventRetracted(DomainEvent, frozen=True, kw_only=True, tag="event.retracted"):
    event_id: UUID
    reason: Text

    @property
    def stream(self) -> str:
        raise LookupError("a retraction belongs to the stream of the event it retracts")
