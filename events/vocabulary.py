"""Field types shared by the event catalogue: slugs, parties, bounded text, EDTF values."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
import pycountry

from events.dates import InvalidDate, parse_date_bounds

MAX_TEXT = 2_000
MAX_ITEMS = 200
MAX_NUMBER = 2**53

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100)]
Party = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([A-Z]{2}|[a-z0-9]+(-[a-z0-9]+)*)$",
        max_length=100,
        description="ISO 3166-1 alpha-2 country code (KZ) or a slug for any other party",
    ),
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
Edtf = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="EDTF date")]
Amount = Annotated[float, msgspec.Meta(ge=0, le=MAX_NUMBER)]
PartyType = Literal["country", "organization", "institution", "company"]

_COUNTRY = re.compile(r"[A-Z]{2}")


def is_country_code(party: str) -> bool:
    """True when ``party`` has the shape of a country code (two capital letters)."""
    return _COUNTRY.fullmatch(party) is not None


def check_party(field: str, party: str) -> None:
    """Refuse two-letter codes that are not ISO 3166-1 alpha-2 countries."""
    if is_country_code(party) and pycountry.countries.get(alpha_2=party) is None:
        raise ValueError(f"{field}: {party!r} is not an ISO 3166-1 alpha-2 country code")


def check_edtf(field: str, value: str | None) -> None:
    """Refuse a value that is not a boundable EDTF date (cached, so cheap on repeats)."""
    if value is None:
        return
    try:
        parse_date_bounds(value)
    except InvalidDate as error:
        raise ValueError(f"{field}: {error}") from None
