"""The views users read, as msgspec Structs (the HTTP layer returns them as they are)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from events.envelope import Source


class Reflected(msgspec.Struct, frozen=True, kw_only=True):
    """What a read reflects: the dates asked about and the log position applied."""

    as_of: date | None = None
    known_at: date | None = None
    position: int = 0


class Member(msgspec.Struct, frozen=True, kw_only=True):
    party: str
    party_name: str | None
    party_type: str
    joined: str
    ordinal: int
    certain: bool
    instrument: str | None = None
    place: str | None = None
    source: Source | None = None
    event_id: UUID | None = None


class Program(Reflected, frozen=True, kw_only=True):
    program: str
    name: str
    established: str
    led_by: tuple[str, ...]
    member_count: int
    possible_member_count: int
    member_counts_by_type: dict[str, int]


class TimelinePoint(msgspec.Struct, frozen=True):
    date: date
    member_count: int
    possible_member_count: int


class Amendment(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    effective: str
    expires: str | None = None
    rent: Any = None
    area_change_ha: float | None = None
    note: str | None = None


class Lease(Reflected, frozen=True, kw_only=True):
    lease: str
    facility: str
    lessor: str
    lessee: str
    signed: str
    expires: str | None
    rent: Any
    area_ha: float | None
    status: str
    amendments: list[Amendment]


class PlannedWindow(msgspec.Struct, frozen=True, kw_only=True):
    planned: str
    effective: str
    reported_on: date
    reason: str | None = None


class Mission(Reflected, frozen=True, kw_only=True):
    mission: str
    name: str | None
    program: str | None
    operator: str | None
    target: str | None
    planned: str | None
    status: str
    launched_on: date | None
    history: list[PlannedWindow]


class Agreement(Reflected, frozen=True, kw_only=True):
    agreement: str
    title: str
    parties: tuple[str, ...]
    topics: tuple[str, ...]
    signed: str
    enters_into_force: str | None
    in_force: bool
    program: str | None
    facility: str | None


class Organization(Reflected, frozen=True, kw_only=True):
    organization: str
    name: str
    status: str
    program: str | None
    founders: tuple[str, ...]


class PartyMembership(msgspec.Struct, frozen=True, kw_only=True):
    program: str
    joined: str
    certain: bool


class PartyLease(msgspec.Struct, frozen=True, kw_only=True):
    lease: str
    role: str


class Party(Reflected, frozen=True, kw_only=True):
    party: str
    memberships: list[PartyMembership]
    agreements: list[str]
    leases: list[PartyLease]
    organizations: list[str]
    missions: list[str]
    programs_led: list[str]


class MemberList(Reflected, frozen=True, kw_only=True):
    program: str
    members: list[Member]


class Timeline(Reflected, frozen=True, kw_only=True):
    program: str
    interval: str
    points: list[TimelinePoint]


class ProgramList(Reflected, frozen=True, kw_only=True):
    programs: list[Program]


class LeaseList(Reflected, frozen=True, kw_only=True):
    leases: list[Lease]


class MissionList(Reflected, frozen=True, kw_only=True):
    missions: list[Mission]


class AgreementList(Reflected, frozen=True, kw_only=True):
    agreements: list[Agreement]
