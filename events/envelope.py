"""The envelope around a domain event: identity, time axes, provenance. Never in the payload."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from events.base import DomainEvent
from events.catalogue import EVENT_TYPES, decode_payload
from events.dates import DateBounds, InvalidDate, parse_date_bounds
from events.vocabulary import Edtf, Text

Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=2_000)]
TypeName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Source(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Where a fact was reported."""

    url: Url | None = None
    title: Text | None = None
    publisher: Text | None = None
    published: date | None = None


class WireEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One event as posted to ``POST /v1/events``."""

    type: TypeName
    effective: Edtf
    data: msgspec.Raw
    id: UUID | None = None
    reported_on: date | None = None
    source: Source | None = None
    corrects: UUID | None = None


class InvalidEvent(ValueError):
    """A posted event is malformed; ``pointer`` names the field (``$[0].data.party``)."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__(f"{pointer}: {reason}")
        self.pointer = pointer
        self.reason = reason


class MalformedJson(InvalidEvent):
    """The body is not JSON at all."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to append: validated, with its bounds parsed and its digest taken."""

    id: UUID
    event: DomainEvent
    effective: DateBounds
    reported_on: date | None
    corrects: UUID | None
    metadata: dict[str, Any]
    digest: bytes
    pointer: str = "$"


_BATCH = msgspec.json.Decoder(list[WireEvent] | WireEvent)
_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def parse_batch(body: bytes, *, max_batch: int, today: date) -> list[NewEvent]:
    """Parse a request body (one event or an array) into events ready to append."""
    try:
        decoded = _BATCH.decode(body)
    except msgspec.ValidationError as error:
        raise _invalid("$", str(error)) from None
    except msgspec.DecodeError as error:
        raise MalformedJson("$", f"malformed JSON: {error}") from None
    except RecursionError:
        raise MalformedJson("$", "JSON nested too deeply") from None
    wires = decoded if isinstance(decoded, list) else [decoded]
    prefix = "$[{}]" if isinstance(decoded, list) else "$"
    if not wires:
        raise InvalidEvent("$", "an empty batch: post at least one event")
    if len(wires) > max_batch:
        raise InvalidEvent("$", f"{len(wires)} events in one batch; the limit is {max_batch}")
    events = [to_new_event(w, prefix.format(i), today) for i, w in enumerate(wires)]
    _refuse_repeated_ids(events, prefix)
    return events


def to_new_event(wire: WireEvent, at: str, today: date) -> NewEvent:
    """Validate one wire event; ``at`` is its JSON path, used in error pointers."""
    if wire.type not in EVENT_TYPES:
        known = ", ".join(EVENT_TYPES)
        raise InvalidEvent(f"{at}.type", f"unknown event type {wire.type!r}; known: {known}")
    try:
        event = decode_payload(wire.type, wire.data)
    except msgspec.ValidationError as error:
        raise _invalid(f"{at}.data", str(error)) from None
    except msgspec.DecodeError as error:
        raise MalformedJson(f"{at}.data", str(error)) from None
    except UnicodeDecodeError:
        raise MalformedJson(f"{at}.data", "a string is not valid UTF-8") from None
    except RecursionError:
        raise MalformedJson(f"{at}.data", "JSON nested too deeply") from None
    try:
        bounds = parse_date_bounds(wire.effective)
    except InvalidDate as error:
        raise InvalidEvent(f"{at}.effective", str(error)) from None
    if wire.reported_on is not None and wire.reported_on > today:
        raise InvalidEvent(f"{at}.reported_on", f"{wire.reported_on} is in the future")
    return NewEvent(
        id=wire.id or uuid.uuid4(),
        event=event,
        effective=bounds,
        reported_on=wire.reported_on,
        corrects=wire.corrects,
        metadata={"source": wire.source} if wire.source else {},
        digest=digest_of(wire),
        pointer=at,
    )


def digest_of(wire: WireEvent) -> bytes:
    """A fingerprint of what the client sent, to tell an idempotent retry from a reuse of an id."""
    canonical = msgspec.json.encode(
        (
            wire.type,
            wire.effective,
            msgspec.json.decode(wire.data),
            wire.reported_on,
            wire.source,
            wire.corrects,
        ),
        order="sorted",
    )
    return hashlib.sha256(canonical).digest()


def _refuse_repeated_ids(events: Sequence[NewEvent], prefix: str) -> None:
    seen: set[UUID] = set()
    for index, new in enumerate(events):
        if new.id in seen:
            raise InvalidEvent(f"{prefix.format(index)}.id", f"{new.id} appears twice in the batch")
        seen.add(new.id)


def _invalid(base: str, message: str) -> InvalidEvent:
    """Turn msgspec's ``reason - at `$.x.y``` into a pointer below ``base``."""
    match = _AT.match(message)
    assert match is not None
    path = match.group("path") or ""
    pointer = base + path
    reason = match.group("reason")
    named = re.fullmatch(r"Object (missing required|contains unknown) field `(\w+)`", reason)
    if named:
        missing = named.group(1) == "missing required"
        why = "is required but missing" if missing else "is not a field of this object"
        return InvalidEvent(f"{pointer}.{named.group(2)}", why)
    # A __post_init__ error names its field first ("party: ..."): move it into the pointer.
    field, sep, rest = reason.partition(": ")
    if sep and re.fullmatch(r"[a-z_]+", field):
        return InvalidEvent(f"{pointer}.{field}", rest)
    return InvalidEvent(pointer, reason)


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored and served: envelope plus payload."""

    id: UUID
    stream: str
    version: int
    position: int
    type: str
    effective: str
    effective_lower: date | None
    effective_upper: date | None
    reported_on: date
    recorded_at: datetime
    data: msgspec.Raw
    schema_version: int = 1
    corrects: UUID | None = None
    source: Source | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
