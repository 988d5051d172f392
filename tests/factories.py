"""Building wire events and ready-to-append events for tests."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec
import pycountry

from events.envelope import NewEvent, parse_batch

TODAY = date(2026, 11, 24)
COUNTRIES = sorted(country.alpha_2 for country in pycountry.countries)  # every ISO 3166 code


def wire(
    type_: str, data: dict[str, Any], effective: str = "2024-07-03", **envelope: Any
) -> dict[str, Any]:
    """A wire event as a client would post it, with a fresh id unless one is given."""
    return {
        "type": type_,
        "effective": effective,
        "data": data,
        "id": str(uuid.uuid4()),
        **envelope,
    }


def established(program: str) -> dict[str, Any]:
    return wire("program.established", {"program": program, "name": program.upper()}, "2021-03-09")


def signed(program: str, party: str, effective: str = "2024-07-03", **extra: Any) -> dict[str, Any]:
    data = {"program": program, "party": party, "party_type": "country", **extra}
    return wire("membership.signed", data, effective)


def new_events(*wires: dict[str, Any]) -> list[NewEvent]:
    """Parse wire events the way the HTTP layer does."""
    return parse_batch(msgspec.json.encode(list(wires)), max_batch=1_000, today=TODAY)
