"""EDTF dates: parsed once on write into strict lower/upper bounds.

Plain ISO dates (``2024-07-03``, ``2024-07``, ``2024``) are parsed natively; every other EDTF
form goes through the ``edtf`` package (~3 ms a parse) behind a cache, so the append path
never pays for it twice.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from edtf import parse_edtf

_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class InvalidDate(ValueError):
    """The text is not an EDTF date this service can bound."""


@dataclass(frozen=True, slots=True)
class DateBounds:
    """Strict bounds of an EDTF value; ``None`` is an open (unknown or unbounded) end."""

    text: str
    lower: date | None
    upper: date | None

    def certainly_on_or_before(self, day: date) -> bool:
        """The whole window lies on or before ``day``."""
        return self.upper is not None and self.upper <= day

    def possibly_on_or_before(self, day: date) -> bool:
        """Some part of the window lies on or before ``day``."""
        return self.lower is None or self.lower <= day


def parse_date_bounds(text: str) -> DateBounds:
    """Parse an EDTF string into its strict bounds, or raise :class:`InvalidDate`."""
    if not isinstance(text, str) or not text or len(text) > 64:
        raise InvalidDate("expected a non-empty EDTF string of at most 64 characters")
    match = _ISO.fullmatch(text)
    if match and int(match.group(2) or 1) <= 12:  # months 21-41 are EDTF seasons
        return _iso_bounds(text, match)
    return _edtf_bounds(text)


def _iso_bounds(text: str, match: re.Match[str]) -> DateBounds:
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return DateBounds(text, _day(year, 1, 1), date(year, 12, 31))
        last = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
        if day is None:
            return DateBounds(text, _day(year, month, 1), _day(year, month, last))
        exact = _day(year, month, day)
        return DateBounds(text, exact, exact)
    except ValueError:
        raise InvalidDate(f"{text!r} is not a valid calendar date") from None


def _day(year: int, month: int, day: int) -> date:
    if year < 1:
        raise ValueError("year 0")
    return date(year, month, day)


@lru_cache(maxsize=4096)
def _edtf_bounds(text: str) -> DateBounds:
    try:
        parsed = parse_edtf(text)
    except Exception:
        raise InvalidDate(f"{text!r} is not a valid EDTF date") from None
    open_start = text.startswith(("..", "/"))
    open_end = text.endswith(("..", "/"))
    lower = None if open_start else _bound(parsed, "lower_strict", text)
    upper = None if open_end else _bound(parsed, "upper_strict", text)
    if lower is not None and upper is not None and lower > upper:
        raise InvalidDate(f"{text!r} ends before it starts")
    return DateBounds(text, lower, upper)


def _bound(parsed: object, which: str, text: str) -> date | None:
    try:
        value = getattr(parsed, which)()
    except Exception:
        return None
    if isinstance(value, float) and math.isinf(value):
        return None
    try:
        year, month, day = value[:3]
        return _day(year, month, day)
    except (TypeError, ValueError):
        raise InvalidDate(f"{text!r} lies outside the years 1 to 9999") from None
