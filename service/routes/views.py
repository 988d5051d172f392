"""Projection reads at any date, as known on any date: programs, leases, missions, and more."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from projections import folds, queries
from projections.facts import Fact, known
from projections.views import (
    Agreement,
    AgreementList,
    Lease,
    LeaseList,
    MemberList,
    Mission,
    MissionList,
    Organization,
    Party,
    Program,
    ProgramList,
    Reflected,
    Timeline,
)
from service.auth import require
from service.openapi import problem_responses
from service.problems import problem

V = TypeVar("V", bound=Reflected)


def _slug(example: str) -> Any:
    return PathParameter(max_length=100, examples=[Example(value=example)])


# Examples from the demo story: the docs show a real entity, and the fuzz tests reach it.
ProgramSlug = Annotated[str, _slug("ilrs")]
LeaseSlug = Annotated[str, _slug("baikonur")]
MissionSlug = Annotated[str, _slug("change-7")]
AgreementSlug = Annotated[str, _slug("cn-kz-ilrs-2024")]
OrganizationSlug = Annotated[str, _slug("ilrsco")]
PartySlug = Annotated[str, _slug("KZ")]
AsOf = Annotated[date | None, QueryParameter(description="valid time (default: today, UTC)")]
KnownAt = Annotated[date | None, QueryParameter(description="knowledge time (default: hindsight)")]
MinPosition = Annotated[
    int | None, QueryParameter(ge=1, le=2**53, description="wait until this position is applied")
]
READ: dict[str, Any] = {
    "guards": [require("read")],
    "responses": problem_responses(400, 401, 404, 503),
}


async def _snapshot(
    request: Request[Any, Any, State], projection: str, entity: str | None, min_position: int | None
) -> queries.Snapshot:
    """Read from the read pool: a streaming replica when READ_DATABASE_URL is set.

    ``min_position`` is checked on the database that serves the read (the replica has replayed
    the projector's checkpoint past it); the primary only tells a bad position from a late one.
    """
    state = request.app.state
    primary = None if state.read_pool is state.pool else state.pool
    try:
        return await queries.read(state.read_pool, projection, entity, min_position=min_position,
                                  within=state.settings.min_position_wait, log=primary)  # fmt: skip
    except queries.UnknownPosition as error:
        raise problem(400, "invalid-parameter", str(error),
                      invalid=[("min_position", str(error))]) from None  # fmt: skip
    except queries.NotYetApplied as error:
        raise problem(503, "not-yet-applied", str(error), headers={"Retry-After": "1"}) from None
    except asyncpg.SerializationError:
        # Only a hot standby cancels a read-only snapshot so: replaying the log needed its rows.
        detail = "the read replica cancelled this read to replay the log; retry"
        raise problem(503, "replica-conflict", detail, headers={"Retry-After": "1"}) from None


def _reflect(view: V, as_of: date, known_at: date | None, position: int) -> V:
    return msgspec.structs.replace(view, as_of=as_of, known_at=known_at, position=position)


def _today(as_of: date | None) -> date:
    return as_of or datetime.now(UTC).date()


def _one(snapshot: queries.Snapshot, entity: str, known_at: date | None, what: str) -> list[Fact]:
    facts = known(snapshot.facts.get(entity, []), known_at)
    if not facts:
        raise problem(404, "not-found", f"no {what} {entity!r}" + _as_known(known_at))
    return facts


def _as_known(known_at: date | None) -> str:
    return f" as known on {known_at}" if known_at else ""


def _found(view: V | None, what: str, entity: str, as_of: date) -> V:
    if view is None:
        raise problem(404, "not-found", f"{what} {entity!r} did not exist as of {as_of}")
    return view


def _all(
    snapshot: queries.Snapshot, known_at: date | None, fold: Callable[[list[Fact]], V | None]
) -> list[V]:
    views = (fold(known(facts, known_at)) for facts in snapshot.facts.values())
    return [view for view in views if view is not None]


async def _single(
    request: Request[Any, Any, State],
    projection: str,
    entity: str,
    fold: Callable[[list[Fact], date], V | None],
    dates: tuple[date | None, date | None, int | None],
) -> V:
    """Fold one entity's facts as known on ``known_at`` at ``as_of``; 404 when it is not there."""
    as_of, known_at, min_position = dates
    snapshot = await _snapshot(request, projection, entity, min_position)
    day = _today(as_of)
    what = projection.removesuffix("s")
    view = fold(_one(snapshot, entity, known_at, what), day)
    return _reflect(_found(view, what, entity, day), day, known_at, snapshot.position)


@get("/v1/programs", summary="Programs with their member counts", **READ)
async def list_programs(
    request: Request[Any, Any, State], as_of: AsOf = None, known_at: KnownAt = None,
    min_position: MinPosition = None,
) -> ProgramList:  # fmt: skip
    """Every program as of ``as_of``, as known on ``known_at``."""
    snapshot = await _snapshot(request, "programs", None, min_position)
    day = _today(as_of)
    programs = _all(snapshot, known_at, lambda facts: folds.program(facts, day))
    return ProgramList(programs=programs, as_of=day, known_at=known_at, position=snapshot.position)


@get("/v1/programs/{program:str}", summary="One program and its member counts", **READ)
async def get_program(
    request: Request[Any, Any, State], program: ProgramSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Program:  # fmt: skip
    """Certain members (whole join window on or before ``as_of``) and possible ones."""
    return await _single(
        request, "programs", program, folds.program, (as_of, known_at, min_position)
    )


@get("/v1/programs/{program:str}/members", summary="Members in order of joining", **READ)
async def get_members(
    request: Request[Any, Any, State], program: ProgramSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
    party_type: Annotated[
        Literal["country", "organization", "institution", "company"] | None, QueryParameter()
    ] = None,
) -> MemberList:  # fmt: skip
    """Ordinal = 1 + listed members who joined strictly earlier; same-day joiners share one."""
    snapshot = await _snapshot(request, "memberships", program, min_position)
    day = _today(as_of)
    facts = _one(snapshot, program, known_at, "program")
    members = folds.members(facts, day, party_type)
    return MemberList(program=program, members=members, as_of=day, known_at=known_at,
                      position=snapshot.position)  # fmt: skip


@get("/v1/programs/{program:str}/timeline", summary="Member counts over time", **READ)
async def get_timeline(
    request: Request[Any, Any, State], program: ProgramSlug,
    from_: Annotated[date | None, QueryParameter(name="from")] = None,
    to: Annotated[date | None, QueryParameter()] = None,
    interval: Annotated[Literal["month", "year"], QueryParameter()] = "month",
    party_type: Annotated[
        Literal["country", "organization", "institution", "company"] | None, QueryParameter()
    ] = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Timeline:  # fmt: skip
    """Counts (certain and possible) at the end of each month or year from ``from`` to ``to``."""
    snapshot = await _snapshot(request, "memberships", program, min_position)
    facts = _one(snapshot, program, known_at, "program")
    end = to or datetime.now(UTC).date()
    start = from_ or min((f.effective.lower for f in facts if f.effective.lower), default=end)
    if start > end:
        raise problem(400, "invalid-parameter", "from: after to", invalid=[("from", "after to")])
    dates = _period_ends(start, end, interval)
    if len(dates) > 2_000:
        reason = "more than 2000 points; use a wider interval"
        raise problem(400, "invalid-parameter", f"from/to: {reason}", invalid=[("from", reason)])
    points = folds.timeline(facts, dates, party_type)
    return Timeline(program=program, interval=interval, points=points, as_of=end,
                    known_at=known_at, position=snapshot.position)  # fmt: skip


def _period_ends(start: date, end: date, interval: str) -> list[date]:
    dates = []
    year, month = start.year, start.month if interval == "month" else 12
    while True:
        day = date(year, month, calendar.monthrange(year, month)[1])
        dates.append(min(day, end))
        if day >= end:
            return dates
        if interval == "year" or month == 12:
            year, month = year + 1, 1 if interval == "month" else 12
        else:
            month += 1


@get("/v1/leases", summary="Leases and their terms in force", **READ)
async def list_leases(
    request: Request[Any, Any, State], as_of: AsOf = None, known_at: KnownAt = None,
    expiring_before: Annotated[date | None, QueryParameter()] = None,
    min_position: MinPosition = None,
) -> LeaseList:  # fmt: skip
    """Every lease; ``expiring_before`` keeps those whose expiry window ends before that date."""
    snapshot = await _snapshot(request, "leases", None, min_position)
    day = _today(as_of)
    leases = _all(snapshot, known_at, lambda facts: folds.lease(facts, day))
    if expiring_before is not None:
        leases = [lease for lease in leases if _expires_before(lease, expiring_before)]
    return LeaseList(leases=leases, as_of=day, known_at=known_at, position=snapshot.position)


def _expires_before(lease: Lease, day: date) -> bool:
    from events.dates import parse_date_bounds

    if lease.expires is None:
        return False
    upper = parse_date_bounds(lease.expires).upper
    return upper is not None and upper < day


@get("/v1/leases/{lease:str}", summary="One lease: terms in force", **READ)
async def get_lease(
    request: Request[Any, Any, State], lease: LeaseSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Lease:  # fmt: skip
    """Each field takes the latest signed or amended value in effect on ``as_of``."""
    return await _single(request, "leases", lease, folds.lease, (as_of, known_at, min_position))


@get("/v1/missions", summary="Missions and their planned windows", **READ)
async def list_missions(
    request: Request[Any, Any, State], as_of: AsOf = None, known_at: KnownAt = None,
    program: Annotated[str | None, QueryParameter(max_length=100)] = None,
    min_position: MinPosition = None,
) -> MissionList:  # fmt: skip
    """Every mission as of ``as_of``, optionally of one program."""
    snapshot = await _snapshot(request, "missions", None, min_position)
    day = _today(as_of)
    missions = _all(snapshot, known_at, lambda facts: folds.mission(facts, day))
    if program is not None:
        missions = [m for m in missions if m.program == program]
    return MissionList(missions=missions, as_of=day, known_at=known_at, position=snapshot.position)


@get("/v1/missions/{mission:str}", summary="One mission: plan, status, history", **READ)
async def get_mission(
    request: Request[Any, Any, State], mission: MissionSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Mission:  # fmt: skip
    """The planned window in effect on ``as_of`` and every window announced before."""
    return await _single(
        request, "missions", mission, folds.mission, (as_of, known_at, min_position)
    )


@get("/v1/agreements", summary="Agreements, optionally of one party", **READ)
async def list_agreements(
    request: Request[Any, Any, State], as_of: AsOf = None, known_at: KnownAt = None,
    party: Annotated[str | None, QueryParameter(max_length=100)] = None,
    min_position: MinPosition = None,
) -> AgreementList:  # fmt: skip
    """Every agreement signed by ``as_of``."""
    snapshot = await _snapshot(request, "agreements", None, min_position)
    day = _today(as_of)
    agreements = _all(snapshot, known_at, lambda facts: folds.agreement(facts, day))
    if party is not None:
        agreements = [a for a in agreements if party in a.parties]
    return AgreementList(agreements=agreements, as_of=day, known_at=known_at,
                         position=snapshot.position)  # fmt: skip


@get("/v1/agreements/{agreement:str}", summary="One agreement", **READ)
async def get_agreement(
    request: Request[Any, Any, State], agreement: AgreementSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Agreement:  # fmt: skip
    """Signed, and in force once its entry into force is certain."""
    return await _single(
        request, "agreements", agreement, folds.agreement, (as_of, known_at, min_position)
    )


@get("/v1/organizations/{organization:str}", summary="One organization", **READ)
async def get_organization(
    request: Request[Any, Any, State], organization: OrganizationSlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Organization:  # fmt: skip
    """Announced or established, as of ``as_of``."""
    return await _single(
        request, "organizations", organization, folds.organization, (as_of, known_at, min_position)
    )


@get("/v1/parties/{party:str}", summary="Everything a party is part of", **READ)
async def get_party(
    request: Request[Any, Any, State], party: PartySlug, as_of: AsOf = None,
    known_at: KnownAt = None, min_position: MinPosition = None,
) -> Party:  # fmt: skip
    """Memberships, agreements, leases, organizations and missions of one party."""
    snapshot = await _snapshot(request, "parties", party, min_position)
    day = _today(as_of)
    view = folds.party(party, _one(snapshot, party, known_at, "party"), day)
    return _reflect(view, day, known_at, snapshot.position)


ROUTES: Sequence[Any] = [
    list_programs, get_program, get_members, get_timeline, list_leases, get_lease,
    list_missions, get_mission, list_agreements, get_agreement, get_organization, get_party,
]  # fmt: skip
