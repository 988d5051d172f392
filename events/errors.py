"""Errors the event store raises; the HTTP layer maps each to one problem type."""

from __future__ import annotations

from uuid import UUID


class StoreError(Exception):
    """Base of the store's refusals."""


class WrongExpectedVersion(StoreError):
    """``If-Match`` named a version the stream is not at."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"{stream} is at version {actual}, not {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class ConcurrencyConflict(StoreError):
    """Other writers kept winning the race for the next version of a stream."""


class IdempotencyConflict(StoreError):
    """An event id was reused with a different body (or in a different batch)."""

    def __init__(self, event_id: UUID) -> None:
        super().__init__(
            f"event id {event_id} is already stored with a different body or batch; "
            "a retry must repeat the original request exactly"
        )
        self.event_id = event_id


class UnknownCursor(StoreError):
    """``after`` names a position that is not in the log."""
