"""Domain rules, decided before append: pure ``decide(state, entry) -> state``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
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
        self.index: int | None = None

    def at(self, prefix: str) -> DomainRuleViolation:
        """The same violation with its field pointer placed under ``prefix`` (``$[2]``)."""
        field, sep, reason = self.detail.partition(": ")
        if sep and not field.startswith("$") and " " not in field:
            return DomainRuleViolation(self.rule, reason, f"{prefix}.{field}")
        return DomainRuleViolation(self.rule, self.detail, prefix)


class Entry(NamedTuple):
    """An event as the rules see it."""

    id: UUID
    event: DomainEvent
    corrects: UUID | None = None


class Facts:
    """What a stream states once corrections and retractions are resolved (kept up to date)."""

    __slots__ = ("members", "retracted", "seen")

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.members: set[str] = set()
        self.retracted: set[UUID] = set()

    @classmethod
    def of(cls, entries: Sequence[Entry]) -> Facts:
        """Fold a whole history (needed once corrections or retractions are involved)."""
        facts = cls()
        facts.retracted = {e.event.event_id for e in entries if isinstance(e.event, EventRetracted)}
        for slot in resolve(entries):
            facts.add(slot.current.event)
        return facts

    def add(self, event: DomainEvent) -> None:
        """Take in a plain event (no correction, no retraction)."""
        if isinstance(event, MembershipSigned):
            self.members.add(event.party)
        elif isinstance(event, MembershipWithdrawn):
            self.members.discard(event.party)
        self.seen.add(event.type_name())


class _History:
    """The entries of one stream and their facts, shared by its successive states.

    A state sees the first ``version`` entries. Evolving the newest state (the tip) appends in
    place, so a batch of k events on a stream of n costs O(k), not O(k * n). A state that is no
    longer the tip (a discarded draft moved past it) copies its prefix and refolds first.
    """

    __slots__ = ("entries", "facts", "index")

    def __init__(self, entries: Sequence[Entry] = ()) -> None:
        self.entries: list[Entry] = list(entries)
        self.index: dict[UUID, int] = {e.id: n for n, e in enumerate(self.entries)}
        self.facts = Facts.of(self.entries)

    def get(self, event_id: UUID) -> Entry | None:
        n = self.index.get(event_id)
        return None if n is None else self.entries[n]

    def append(self, entry: Entry) -> None:
        self.index[entry.id] = len(self.entries)
        self.entries.append(entry)
        if entry.corrects is None and not isinstance(entry.event, EventRetracted):
            self.facts.add(entry.event)
        else:
            self.facts = Facts.of(self.entries)


@dataclass(frozen=True, slots=True)
class StreamState:
    """A stream's version and history, enough to decide on what may come next."""

    stream: str
    version: int = 0
    history: _History = field(default_factory=_History, compare=False, repr=False)

    @classmethod
    def of(cls, stream: str, entries: Sequence[Entry]) -> StreamState:
        """The state of a stream holding exactly ``entries``."""
        return cls(stream, len(entries), _History(entries))

    @property
    def entries(self) -> list[Entry]:
        """The history this state sees, oldest first."""
        return self.history.entries[: self.version]

    def get(self, event_id: UUID) -> Entry | None:
        """The entry with this id, if this state's history holds it."""
        n = self.history.index.get(event_id)
        return None if n is None or n >= self.version else self.history.entries[n]

    def at_tip(self) -> StreamState:
        """This state, owning the end of its history (copied if a draft moved past it)."""
        if len(self.history.entries) == self.version:
            return self
        return StreamState.of(self.stream, self.entries)


def evolve(state: StreamState, entry: Entry) -> StreamState:
    """The state after ``entry`` has been appended."""
    state = state.at_tip()
    state.history.append(entry)
    return StreamState(state.stream, state.version + 1, state.history)


def decide(state: StreamState, entry: Entry) -> StreamState:
    """Check ``entry`` against the stream's history; return the evolved state or raise."""
    return decide_all(state, [entry])


def decide_all(state: StreamState, entries: Sequence[Entry]) -> StreamState:
    """Check each entry in turn against the history so far; the state after all, or raise.

    A violation carries ``index``: the position in ``entries`` of the event refused.
    """
    state = state.at_tip()
    history = state.history
    for index, entry in enumerate(entries):
        try:
            _check(state.stream, history, entry)
        except DomainRuleViolation as violation:
            violation.index = index  # the draft stays past `state`, which copies when next used
            raise
        history.append(entry)
    return StreamState(state.stream, state.version + len(entries), history)


def _check(stream: str, history: _History, entry: Entry) -> None:
    if entry.id in history.index:
        raise DomainRuleViolation("duplicate-id", f"event {entry.id} is already in {stream}")
    if isinstance(entry.event, EventRetracted):
        _check_retraction(stream, history, entry.event)
    elif entry.corrects is not None:
        _check_correction(stream, history, entry)
    else:
        _check_fact(history.facts, entry.event)


def _check_retraction(stream: str, history: _History, retraction: EventRetracted) -> None:
    target = history.get(retraction.event_id)
    if target is None:
        raise DomainRuleViolation(
            "unknown-target", f"data.event_id: no event {retraction.event_id} in {stream}"
        )
    if isinstance(target.event, EventRetracted):
        raise DomainRuleViolation("unknown-target", "data.event_id: a retraction is final")
    if target.id in history.facts.retracted:
        raise DomainRuleViolation(
            "already-retracted", f"data.event_id: {target.id} is retracted already"
        )


def _check_correction(stream: str, history: _History, entry: Entry) -> None:
    assert entry.corrects is not None
    target = history.get(entry.corrects)
    if target is None:
        raise DomainRuleViolation(
            "unknown-target", f"corrects: no event {entry.corrects} in {stream}"
        )
    if type(target.event) is not type(entry.event):
        raise DomainRuleViolation(
            "correction-type",
            f"corrects: a correction keeps the type of {entry.corrects} "
            f"({target.event.type_name()})",
        )
    if target.id in history.facts.retracted:
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
