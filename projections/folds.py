"""Pure folds: facts (as known on ``known_at``) into views as of a valid-time date.

The projector's stored facts and a live read of the log both go through these functions, so
every way of answering a question gives the same answer.

"In effect on D" is tri-state: *certain* when the event's whole EDTF window lies on or before D,
*possible* when only its start does.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from events.agreement import AgreementSigned
from events.dates import DateBounds, parse_date_bounds
from events.lease import LeaseAmended, LeaseEnded, LeaseSigned
from events.mission import MissionAnnounced, MissionCancelled, MissionLaunched, MissionRescheduled
from events.organization import OrganizationEstablished, OrganizationEvent
from events.program import MembershipSigned, MembershipWithdrawn, ProgramEstablished
from projections.facts import Fact, by_valid_time
from projections.views import (
    Agreement,
    Amendment,
    Lease,
    Member,
    MemberList,
    Mission,
    Organization,
    Party,
    PartyLease,
    PartyMembership,
    PlannedWindow,
    Program,
    TimelinePoint,
)

NONE, POSSIBLE, CERTAIN = 0, 1, 2


def in_effect(bounds: DateBounds, day: date) -> int:
    """CERTAIN, POSSIBLE or NONE: how surely the window has started by ``day``."""
    if bounds.certainly_on_or_before(day):
        return CERTAIN
    return POSSIBLE if bounds.possibly_on_or_before(day) else NONE


def _certain(facts: Sequence[Fact], day: date) -> list[Fact]:
    return [f for f in by_valid_time(facts) if in_effect(f.effective, day) == CERTAIN]


# -- programs and members -----------------------------------------------------------------------


def members(facts: Sequence[Fact], as_of: date, party_type: str | None = None) -> list[Member]:
    """Members in effect on ``as_of`` (certain or possible), ordered by join, with ordinals."""
    status: dict[str, int] = {}
    signing: dict[str, Fact] = {}
    for fact in by_valid_time(facts):
        sure = in_effect(fact.effective, as_of)
        event = fact.event
        if sure == NONE:
            continue
        if isinstance(event, MembershipSigned):
            if sure == CERTAIN or status.get(event.party, NONE) == NONE:
                status[event.party] = sure
                signing[event.party] = fact
        elif isinstance(event, MembershipWithdrawn):
            before = status.get(event.party, NONE)
            status[event.party] = NONE if sure == CERTAIN else min(before, POSSIBLE)
    listed = [signing[p] for p, s in status.items() if s != NONE]
    if party_type is not None:
        listed = [f for f in listed if _signed(f).party_type == party_type]
    listed.sort(key=lambda f: (f.effective.lower or date.min, _signed(f).party))
    keys = [f.effective.lower or date.min for f in listed]
    return [_member(f, bisect.bisect_left(keys, keys[n]) + 1, status) for n, f in enumerate(listed)]


def _signed(fact: Fact) -> MembershipSigned:
    assert isinstance(fact.event, MembershipSigned)
    return fact.event


def _member(fact: Fact, ordinal: int, status: dict[str, int]) -> Member:
    event = _signed(fact)
    return Member(
        party=event.party,
        party_name=event.party_name,
        party_type=event.party_type,
        joined=fact.effective.text,
        ordinal=ordinal,
        certain=status[event.party] == CERTAIN,
        instrument=event.instrument,
        place=event.place,
        source=fact.source,
        event_id=fact.id,
    )


def program(facts: Sequence[Fact], as_of: date) -> Program | None:
    """The program as of ``as_of``; None when it was not (possibly) established by then."""
    established = [
        f
        for f in by_valid_time(facts)
        if isinstance(f.event, ProgramEstablished) and in_effect(f.effective, as_of) != NONE
    ]
    if not established:
        return None
    head = established[-1]
    assert isinstance(head.event, ProgramEstablished)
    listed = members(facts, as_of)
    certain = [m for m in listed if m.certain]
    return Program(
        program=head.event.program,
        name=head.event.name,
        established=head.effective.text,
        led_by=head.event.led_by,
        member_count=len(certain),
        possible_member_count=len(listed),
        member_counts_by_type=dict(Counter(m.party_type for m in certain)),
    )


def timeline(
    facts: Sequence[Fact], dates: Sequence[date], party_type: str | None = None
) -> list[TimelinePoint]:
    """Member counts (certain, possible) at each date."""
    points = []
    for day in dates:
        listed = members(facts, day, party_type)
        points.append(TimelinePoint(day, sum(m.certain for m in listed), len(listed)))
    return points


# -- leases -------------------------------------------------------------------------------------


def lease(facts: Sequence[Fact], as_of: date) -> Lease | None:
    """Terms in force on ``as_of``: each field from the latest signing or amendment by then."""
    terms: dict[str, object] = {}
    amendments: list[Amendment] = []
    status = "in force"
    for fact in _certain(facts, as_of):
        match fact.event:
            case LeaseSigned() as signed:
                terms = {
                    "lease": signed.lease, "facility": signed.facility, "lessor": signed.lessor,
                    "lessee": signed.lessee, "signed": fact.effective.text,
                    "expires": signed.expires, "rent": signed.rent, "area_ha": signed.area_ha,
                }  # fmt: skip
            case LeaseAmended() as amended if terms:
                terms.update(_changes(amended))
                if amended.area_change_ha is not None:
                    area = terms.get("area_ha")
                    base = area if isinstance(area, int | float) else 0.0
                    terms["area_ha"] = base + amended.area_change_ha
                amendments.append(_amendment(fact, amended))
            case LeaseEnded() if terms:
                status = "ended"
    if not terms:
        return None
    expires = terms.get("expires")
    lapsed = isinstance(expires, str) and parse_date_bounds(expires).certainly_on_or_before(as_of)
    if status != "ended" and lapsed:
        status = "expired"
    return Lease(**terms, status=status, amendments=amendments)  # type: ignore[arg-type]


def _changes(amended: LeaseAmended) -> dict[str, object]:
    changes: dict[str, object] = {}
    if amended.expires is not None:
        changes["expires"] = amended.expires
    if amended.rent is not None:
        changes["rent"] = amended.rent
    return changes


def _amendment(fact: Fact, amended: LeaseAmended) -> Amendment:
    return Amendment(
        effective=fact.effective.text,
        expires=amended.expires,
        rent=amended.rent,
        area_change_ha=amended.area_change_ha,
        note=amended.note,
    )


# -- missions, agreements, organizations --------------------------------------------------------


def mission(facts: Sequence[Fact], as_of: date) -> Mission | None:
    """The mission's plan and status on ``as_of``, with the history of its planned windows."""
    view: dict[str, object] = {}
    history: list[PlannedWindow] = []
    for fact in _certain(facts, as_of):
        event = fact.event
        match event:
            case MissionAnnounced():
                view |= {
                    "mission": event.mission, "name": event.name, "program": event.program,
                    "operator": event.operator, "target": event.target,
                    "planned": event.planned, "status": "announced",
                }  # fmt: skip
                history.append(_window(fact, event.planned))
            case MissionRescheduled():
                view |= {
                    "mission": event.mission,
                    "planned": event.planned,
                    "status": "rescheduled",
                }
                history.append(_window(fact, event.planned, event.reason))
            case MissionLaunched():
                view |= {"mission": event.mission, "status": "launched",
                         "launched_on": event.launched_on}  # fmt: skip
                if event.name is not None:
                    view.setdefault("name", event.name)
            case MissionCancelled():
                view |= {"mission": event.mission, "status": "cancelled"}
    if not view:
        return None
    defaults = {"name": None, "program": None, "operator": None, "target": None,
                "planned": None, "launched_on": None}  # fmt: skip
    return Mission(**(defaults | view), history=history)  # type: ignore[arg-type]


def _window(fact: Fact, planned: str, reason: str | None = None) -> PlannedWindow:
    return PlannedWindow(
        planned=planned, effective=fact.effective.text, reported_on=fact.reported_on, reason=reason
    )


def agreement(facts: Sequence[Fact], as_of: date) -> Agreement | None:
    """The agreement if signed by ``as_of``; in force once its entry into force is certain."""
    signed = [f for f in _certain(facts, as_of) if isinstance(f.event, AgreementSigned)]
    if not signed:
        return None
    fact = signed[-1]
    event = fact.event
    assert isinstance(event, AgreementSigned)
    force = event.enters_into_force
    in_force = force is None or parse_date_bounds(force).certainly_on_or_before(as_of)
    return Agreement(
        agreement=event.agreement, title=event.title, parties=event.parties,
        topics=event.topics, signed=fact.effective.text, enters_into_force=force,
        in_force=in_force, program=event.program, facility=event.facility,
    )  # fmt: skip


def organization(facts: Sequence[Fact], as_of: date) -> Organization | None:
    """The organization as announced or established by ``as_of``."""
    known = [f for f in _certain(facts, as_of) if isinstance(f.event, OrganizationEvent)]
    if not known:
        return None
    latest = known[-1].event
    assert isinstance(latest, OrganizationEvent)
    established = any(isinstance(f.event, OrganizationEstablished) for f in known)
    return Organization(
        organization=latest.organization,
        name=latest.name,
        status="established" if established else "announced",
        program=latest.program,
        founders=latest.founders,
    )


# -- parties ------------------------------------------------------------------------------------


def party(name: str, facts: Sequence[Fact], as_of: date) -> Party:
    """Everything ``name`` is part of on ``as_of``."""
    by_stream: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_stream[fact.stream].append(fact)
    view = Party(party=name, memberships=[], agreements=[], leases=[], organizations=[],
                 missions=[], programs_led=[])  # fmt: skip
    for stream_facts in by_stream.values():
        _party_stream(name, stream_facts, as_of, view)
    return view


def _party_stream(name: str, facts: list[Fact], as_of: date, view: Party) -> None:
    for member in members(facts, as_of):
        if member.party == name:
            program_name = _signed_program(facts, member.party)
            view.memberships.append(
                PartyMembership(program=program_name, joined=member.joined, certain=member.certain)
            )
    for fact in _certain(facts, as_of):
        match fact.event:
            case ProgramEstablished(program=p, led_by=led) if name in led:
                view.programs_led.append(p)
            case AgreementSigned(agreement=a, parties=parties) if name in parties:
                view.agreements.append(a)
            case LeaseSigned(lease=lease_name, lessor=lessor):
                role = "lessor" if lessor == name else "lessee"
                view.leases.append(PartyLease(lease=lease_name, role=role))
            case OrganizationEvent(organization=o, founders=f) if name in f:
                if o not in view.organizations:
                    view.organizations.append(o)
            case MissionAnnounced(mission=m, operator=op) if op == name:
                view.missions.append(m)


def _signed_program(facts: list[Fact], party_name: str) -> str:
    for fact in facts:
        if isinstance(fact.event, MembershipSigned) and fact.event.party == party_name:
            return fact.event.program
    return ""


def current_view(projection: str, entity: str, facts: Sequence[Fact], as_of: date) -> Any:
    """The view a projection serves for one entity (facts already resolved), or None."""
    match projection:
        case "programs":
            return program(facts, as_of)
        case "memberships":
            if program(facts, as_of) is None:
                return None
            return MemberList(program=entity, members=members(facts, as_of))
        case "leases":
            return lease(facts, as_of)
        case "missions":
            return mission(facts, as_of)
        case "agreements":
            return agreement(facts, as_of)
        case "organizations":
            return organization(facts, as_of)
        case "parties":
            return party(entity, facts, as_of) if facts else None
    raise LookupError(projection)
