"""The folds on the seed story's facts: the numbers the story states."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from events.dates import parse_date_bounds
from events.envelope import parse_batch
from events.program import MembershipSigned
from events.retraction import EventRetracted
from projections import folds
from projections.facts import Fact, known
from service.cli import DEMO_FILE

TODAY = date(2026, 11, 24)


def demo_facts(path: Path = DEMO_FILE) -> list[Fact]:
    facts = []
    for position, line in enumerate(path.read_bytes().splitlines(), start=1):
        new = parse_batch(line, max_batch=1, today=TODAY)[0]
        stream = new.event.stream
        assert new.reported_on is not None
        facts.append(Fact(new.id, new.event, new.corrects, stream, new.effective,
                          new.reported_on, position))  # fmt: skip
    return facts


def stream(facts: list[Fact], name: str) -> list[Fact]:
    return [f for f in facts if f.stream == name]


def test_kazakhstan_is_the_twelfth_country_of_the_ilrs() -> None:
    ilrs = stream(demo_facts(), "program-ilrs")
    view = folds.program(ilrs, date(2024, 7, 4))
    assert view is not None
    assert view.member_counts_by_type["country"] == 12
    countries = folds.members(ilrs, date(2024, 7, 4), "country")
    kz = next(m for m in countries if m.party == "KZ")
    assert kz.ordinal == 12 and kz.certain
    assert {"CN", "RU"} <= {m.party for m in countries if m.ordinal == 1}


def test_before_kazakhstan_signed_there_were_eleven() -> None:
    ilrs = stream(demo_facts(), "program-ilrs")
    view = folds.program(ilrs, date(2024, 7, 2))
    assert view is not None and view.member_count == 11


def test_baikonur_expiry_depends_on_the_date() -> None:
    baikonur = stream(demo_facts(), "lease-baikonur")
    in_2000 = folds.lease(baikonur, date(2000, 1, 1))
    in_2010 = folds.lease(baikonur, date(2010, 1, 1))
    assert in_2000 is not None and in_2000.expires == "2014"
    assert in_2010 is not None and in_2010.expires == "2050"
    assert in_2010.lessor == "KZ" and in_2010.lessee == "RU"
    assert [a.effective for a in in_2010.amendments] == ["2004-01-09"]
    assert folds.lease(baikonur, date(1990, 1, 1)) is None


def test_an_imprecise_date_is_possible_before_it_is_certain() -> None:
    change7 = stream(demo_facts(), "mission-change-7")
    mission = folds.mission(change7, date(2024, 12, 31))
    assert mission is not None and mission.planned == "2026~"
    ilrs = stream(demo_facts(), "program-ilrs")
    # Serbia signed "2024-05?": possible in mid-May, certain from June.
    in_may = {m.party: m.certain for m in folds.members(ilrs, date(2024, 5, 15))}
    in_june = {m.party: m.certain for m in folds.members(ilrs, date(2024, 6, 1))}
    assert in_may["RS"] is False and in_june["RS"] is True
    view = folds.program(ilrs, date(2024, 5, 15))
    assert view is not None and view.possible_member_count > view.member_count


def test_known_at_sees_only_what_was_reported() -> None:
    ilrs = stream(demo_facts(), "program-ilrs")
    as_known = known(ilrs, date(2024, 7, 5))  # the story came out on 2024-07-06
    assert "KZ" not in {m.party for m in folds.members(as_known, date(2024, 7, 5))}
    assert "KZ" in {m.party for m in folds.members(known(ilrs, None), date(2024, 7, 5))}


def test_a_correction_is_visible_from_its_own_report_date() -> None:
    ilrs = stream(demo_facts(), "program-ilrs")
    kz = next(f for f in ilrs if isinstance(f.event, MembershipSigned) and f.event.party == "KZ")
    fixed = Fact(uuid.uuid4(), kz.event, kz.id, kz.stream, parse_date_bounds("2024-07-04"),
                 date(2024, 8, 1), 1000)  # fmt: skip
    history = [*ilrs, fixed]
    before = folds.members(known(history, date(2024, 7, 31)), date(2024, 12, 1))
    after = folds.members(known(history, date(2024, 8, 1)), date(2024, 12, 1))
    assert next(m.joined for m in before if m.party == "KZ") == "2024-07-03"
    assert next(m.joined for m in after if m.party == "KZ") == "2024-07-04"
    gone = Fact(uuid.uuid4(), EventRetracted(event_id=kz.id, reason="x"), None, kz.stream,
                kz.effective, date(2024, 9, 1), 1001)  # fmt: skip
    retracted = known([*history, gone], None)
    assert "KZ" not in {m.party for m in folds.members(retracted, date(2024, 12, 1))}
    earlier = known([*history, gone], date(2024, 8, 31))
    assert "KZ" in {m.party for m in folds.members(earlier, date(2024, 12, 1))}


def test_timeline_counts_grow() -> None:
    ilrs = stream(demo_facts(), "program-ilrs")
    points = folds.timeline(ilrs, [date(2021, 12, 31), date(2023, 12, 31), date(2024, 12, 31)])
    assert [p.member_count for p in points] == [2, 8, 12]


def test_party_view() -> None:
    wanted = {"program-ilrs", "lease-baikonur", "agreement-cn-kz-ilrs-2024"}
    facts = [f for f in demo_facts() if f.stream in wanted]
    kz = folds.party("KZ", [f for f in facts if "KZ" in repr(f.event)], date(2024, 12, 31))
    assert [m.program for m in kz.memberships] == ["ilrs"]
    assert kz.agreements == ["cn-kz-ilrs-2024"]
    assert [(lease.lease, lease.role) for lease in kz.leases] == [("baikonur", "lessor")]
