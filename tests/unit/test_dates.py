from datetime import date

import pytest

from events.dates import InvalidDate, parse_date_bounds


@pytest.mark.parametrize(
    ("text", "lower", "upper"),
    [
        ("2024-07-03", date(2024, 7, 3), date(2024, 7, 3)),
        ("2024-07", date(2024, 7, 1), date(2024, 7, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2026~", date(2026, 1, 1), date(2026, 12, 31)),
        ("2024-07-03?", date(2024, 7, 3), date(2024, 7, 3)),
        ("203X", date(2030, 1, 1), date(2039, 12, 31)),
        ("2026/2035", date(2026, 1, 1), date(2035, 12, 31)),
        ("../2025-04-29", None, date(2025, 4, 29)),
        ("2026/..", date(2026, 1, 1), None),
        ("2024-21", date(2024, 3, 1), date(2024, 5, 31)),
    ],
)
def test_bounds_of_edtf_values(text: str, lower: date | None, upper: date | None) -> None:
    bounds = parse_date_bounds(text)
    assert (bounds.lower, bounds.upper) == (lower, upper)
    assert bounds.text == text


@pytest.mark.parametrize(
    "text", ["", "2024-02-30", "2024-13", "0000", "-0100", "tomorrow", "2024-07-03T10:00", "x" * 65]
)
def test_refuses_what_cannot_be_bounded(text: str) -> None:
    with pytest.raises(InvalidDate):
        parse_date_bounds(text)


def test_certain_and_possible_on_a_day() -> None:
    around_2026 = parse_date_bounds("2026~")
    assert not around_2026.certainly_on_or_before(date(2026, 6, 1))
    assert around_2026.possibly_on_or_before(date(2026, 6, 1))
    assert around_2026.certainly_on_or_before(date(2026, 12, 31))
    assert not around_2026.possibly_on_or_before(date(2025, 12, 31))
    assert parse_date_bounds("../2025-04-29").possibly_on_or_before(date(1900, 1, 1))
