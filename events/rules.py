"""Domain rules, decided before append: pure ``decide(state, entry) -> state``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from events.agreement import AgreementSigned
from events.base import DomainEvent
from events.errors import StoreError
from events.history import resolve
from events.lease import LeaseAmended, LeaseEnded, LeaseSigned
from events.mission import MissionAnnounced, MissionCancelled, MissionLaunched, MissionRescheduled
from events.organization import OrganizationAnnounced, OrganizationEstablished
from events.program import MembershipSigned, MembershipWithdrawn, ProgramEstablished
from events.retraction import EventRetracted


class DomainRuleViolation(StoreError):
    """An event breaks a rule of the domain given its stream's history."""

    def __init__(self, rule: str, detail: str, pointer: str = "") -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.pointer = pointer

    def at(self, prefix: str) -> DomainRuleViolation:
        """The same violation with its field pointer placed under ``prefix`` (``$[2]``)."""
        field, sep, reason = self.detail.partition(": ")
        if sep and not field.startswith("$") and " " not in field:
            return DomainRuleViolation(self.rule, reason, f"{prefix}.{field}")
        return DomainRuleViolation(self.rule, self.detail, prefix)


@dataclass(frozen=True, slots=True)
class Entry:
    """An event as the rules see it."""

    id: UUID
    event: DomainEvent
    corrects: UUID | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What a stream states once corrections and retractions are resolved."""

    seen: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()
    retracted: frozenset[UUID] = frozenset()

    @classmethod
    def of(cls, entries: Sequence[Entry]) -> Facts:
        """Fold a whole history (needed once corrections or retractions are involved)."""
        facts = cls(
            retracted=frozenset(
                e.event.event_id for e in entries if isinstance(e.event, EventRetracted)
            )
        )
        for slot in resolve(entries):
            facts = facts.after(slot.current.event)
        return facts

    def after(self, event: DomainEvent) -> Facts:
        """The facts once a plain event (no correction, no retraction) is added."""
        members = self.members
        if isinstance(event, MembershipSigned):
            members = members | {event.party}
        elif isinstance(event, MembershipWithdrawn):
            members = members - {event.party}
        seen = self.seen if event.type_name() in self.seen else self.seen | {event.type_name()}
        return Facts(seen, members, self.retracted)


@dataclass(frozen=True, slots=True)
class StreamState:
    """A stream's version and history, enough to decide on what may come next."""

    stream: str
    version: int = 0
    entries: tuple[Entry, ...] = ()
    by_id: dict[UUID, Entry] = field(default_factory=dict, compare=False)
    facts: Facts = Facts()

    @classmethod
    def of(cls, stream: str, entries: Sequence[Entry]) -> StreamState:
        """The state of a stream holding exactly ``entries``."""
        by_id = {e.id: e for e in entries}
        return cls(stream, len(entries), tuple(entries), by_id, Facts.of(entries))


def evolve(state: StreamState, entry: Entry) -> StreamState:
    """The state after ``entry`` has been appended."""
    entries = (*state.entries, entry)
    plain = entry.corrects is None and not isinstance(entry.event, EventRetracted)
    facts = state.facts.after(entry.event) if plain else Facts.of(entries)
    by_id = {**state.by_id, entry.id: entry}
    return StreamState(state.stream, state.version + 1, entries, by_id, facts)


def decide(state: StreamState, entry: Entry) -> StreamState:
    """Check ``entry`` against the stream's history; return the evolved state or raise."""
    if entry.id in state.by_id:
        raise DomainRuleViolation("duplicate-id", f"event {entry.id} is already in {state.stream}")
    if isinstance(entry.event, EventRetracted):
        _check_retraction(state, entry.event)
    elif entry.corrects is not None:
        _check_correction(state, entry)
    else:
        _check_fact(state.facts, entry.event)
    return evolve(state, entry)


def _check_retraction(state: StreamState, retraction: EventRetracted) -> None:
    target = state.by_id.get(retraction.event_id)
    if target is None:
        raise DomainRuleViolation(
            "unknown-target", f"data.event_id: no event {retraction.event_id} in {state.stream}"
        )
    if isinstance(target.event, EventRetracted):
        raise DomainRuleViolation("unknown-target", "data.event_id: a retraction is final")
    if target.id in state.facts.retracted:
        raise DomainRuleViolation(
            "already-retracted", f"data.event_id: {target.id} is retracted already"
        )


def _check_correction(state: StreamState, entry: Entry) -> None:
    assert entry.corrects is not None
    target = state.by_id.get(entry.corrects)
    if target is None:
        raise DomainRuleViolation(
            "unknown-target", f"corrects: no event {entry.corrects} in {state.stream}"
        )
    if type(target.event) is not type(entry.event):
        raise DomainRuleViolation(
            "correction-type",
            f"corrects: a correction keeps the type of {entry.corrects} "
            f"({target.event.type_name()})",
        )
    if target.id in state.facts.retracted:
        raise DomainRuleViolation("already-retracted", f"corrects: {entry.corrects} is retracted")


def _refuse(rule: str, detail: str) -> None:
    raise DomainRuleViolation(rule, detail)


def _check_fact(facts: Facts, event: DomainEvent) -> None:
    seen = facts.seen
    match event:
        case ProgramEstablished(program=program) if "program.established" in seen:
            _refuse("already-established", f"data.program: {program} is established already")
        case MembershipSigned(program=program) if "program.established" not in seen:
            _refuse("program-not-established", f"data.program: {program} is not established")
        case MembershipSigned(party=party) if party in facts.members:
            _refuse("already-member", f"data.party: {party} signed already, with no withdrawal")
        case MembershipWithdrawn(party=party) if party not in facts.members:
            _refuse("not-a-member", f"data.party: {party} is not a member")
        case LeaseSigned(lease=lease) if "lease.signed" in seen:
            _refuse("already-signed", f"data.lease: {lease} is signed already")
        case LeaseAmended(lease=lease) | LeaseEnded(lease=lease) if "lease.signed" not in seen:
            _refuse("lease-not-signed", f"data.lease: {lease} has no signed lease")
        case LeaseAmended(lease=lease) | LeaseEnded(lease=lease) if "lease.ended" in seen:
            _refuse("lease-ended", f"data.lease: {lease} has ended")
        case MissionAnnounced(mission=mission) if "mission.announced" in seen:
            _refuse("already-announced", f"data.mission: {mission} is announced already")
        case MissionRescheduled(mission=m) | MissionCancelled(mission=m) if (
            "mission.announced" not in seen
        ):
            _refuse("mission-not-announced", f"data.mission: {m} was never announced")
        case MissionLaunched(mission=mission) if "mission.launched" in seen:
            _refuse("already-launched", f"data.mission: {mission} has launched already")
        case OrganizationAnnounced(organization=org) if seen & {
            "organization.announced",
            "organization.established",
        }:
            _refuse("already-announced", f"data.organization: {org} is announced already")
        case OrganizationEstablished(organization=org) if "organization.established" in seen:
            _refuse("already-established", f"data.organization: {org} is established already")
        case AgreementSigned(agreement=agreement) if "agreement.signed" in seen:
            _refuse("already-signed", f"data.agreement: {agreement} is signed already")
        case _:
            pass
