"""The event catalogue: every type by its stable tag, with decoders and upcasters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from events.agreement import AgreementEvents
from events.base import DomainEvent
from events.lease import LeaseEvents
from events.mission import MissionEvents, upcast_mission_announced_v0
from events.organization import OrganizationEvents
from events.program import ProgramEvents
from events.retraction import EventRetracted

AnyEvent = (
    ProgramEvents
    | LeaseEvents
    | MissionEvents
    | OrganizationEvents
    | AgreementEvents
    | EventRetracted
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

EVENT_TYPES: dict[str, type[DomainEvent]] = {cls.type_name(): cls for cls in AnyEvent.__args__}

# (type, stored schema version) -> function lifting the payload one version up.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("mission.announced", 0): upcast_mission_announced_v0,
}

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}


class UnknownEventType(LookupError):
    """The type is not in the catalogue."""


def event_class(type_name: str) -> type[DomainEvent]:
    """The class for a stored or posted type name."""
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None


def decode_payload(type_name: str, payload: bytes | str) -> DomainEvent:
    """Decode a current-version payload (no ``type`` key needed) into its Struct."""
    try:
        decoder = _DECODERS[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None
    event: DomainEvent = decoder.decode(payload)
    return event


def upcast(type_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Lift a stored payload to the current schema version of its type."""
    current = event_class(type_name).schema_version
    while schema_version < current:
        data = UPCASTERS[(type_name, schema_version)](data)
        schema_version += 1
    return data


def load_stored(type_name: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    """Turn a stored row's payload into its current Struct, upcasting old versions on read."""
    cls = event_class(type_name)
    if schema_version < cls.schema_version:
        data = upcast(type_name, schema_version, data)
    event: DomainEvent = msgspec.convert(data, cls)
    return event


def payload_of(event: DomainEvent) -> dict[str, Any]:
    """The stored ``data`` of an event: its fields without the type tag."""
    return msgspec.structs.asdict(event)
