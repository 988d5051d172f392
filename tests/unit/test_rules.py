"""The domain rules, decided before append: given a history, when an event comes, then..."""

from __future__ import annotations

import uuid
from uuid import UUID

import pytest

from events.base import DomainEvent
from events.lease import LeaseAmended, LeaseEnded, LeaseSigned
from events.mission import MissionAnnounced, MissionRescheduled
from events.program import MembershipSigned, MembershipWithdrawn, ProgramEstablished
from events.retraction import EventRetracted
from events.rules import DomainRuleViolation, Entry, StreamState, decide

ESTABLISHED = ProgramEstablished(program="ilrs", name="ILRS", led_by=("CN", "RU"))
KZ_SIGNS = MembershipSigned(program="ilrs", party="KZ", party_type="country")
KZ_LEAVES = MembershipWithdrawn(program="ilrs", party="KZ")


def given(*events: DomainEvent | Entry, stream: str = "program-ilrs") -> StreamState:
    state = StreamState(stream)
    for item in events:
        state = decide(state, item if isinstance(item, Entry) else Entry(uuid.uuid4(), item))
    return state


def entry(event: DomainEvent, corrects: UUID | None = None, id_: UUID | None = None) -> Entry:
    return Entry(id_ or uuid.uuid4(), event, corrects)


def refused(state: StreamState, new: Entry) -> str:
    with pytest.raises(DomainRuleViolation) as caught:
        decide(state, new)
    return caught.value.rule


def test_membership_needs_an_established_program() -> None:
    assert refused(given(), entry(KZ_SIGNS)) == "program-not-established"
    assert decide(given(ESTABLISHED), entry(KZ_SIGNS)).version == 2


def test_no_second_signing_without_a_withdrawal_between() -> None:
    assert refused(given(ESTABLISHED, KZ_SIGNS), entry(KZ_SIGNS)) == "already-member"
    assert decide(given(ESTABLISHED, KZ_SIGNS, KZ_LEAVES), entry(KZ_SIGNS)).version == 4


def test_a_correction_may_sign_again() -> None:
    original = entry(KZ_SIGNS)
    state = given(ESTABLISHED, original)
    fixed = MembershipSigned(program="ilrs", party="KZ", party_type="country", place="Astana")
    assert decide(state, entry(fixed, corrects=original.id)).version == 3


def test_withdrawal_needs_a_member() -> None:
    assert refused(given(ESTABLISHED), entry(KZ_LEAVES)) == "not-a-member"


def test_a_retracted_signing_no_longer_counts() -> None:
    signing = entry(KZ_SIGNS)
    state = given(ESTABLISHED, signing, EventRetracted(event_id=signing.id, reason="misreport"))
    assert refused(state, entry(KZ_LEAVES)) == "not-a-member"
    assert decide(state, entry(KZ_SIGNS)).version == 4


def test_correction_and_retraction_name_an_existing_event_of_the_stream() -> None:
    state = given(ESTABLISHED, KZ_SIGNS)
    assert refused(state, entry(KZ_SIGNS, corrects=uuid.uuid4())) == "unknown-target"
    retraction = EventRetracted(event_id=uuid.uuid4(), reason="x")
    assert refused(state, entry(retraction)) == "unknown-target"


def test_correction_keeps_the_type() -> None:
    signing = entry(KZ_SIGNS)
    state = given(ESTABLISHED, signing)
    assert refused(state, entry(KZ_LEAVES, corrects=signing.id)) == "correction-type"


def test_retracted_events_cannot_be_corrected_or_retracted_again() -> None:
    signing = entry(KZ_SIGNS)
    state = given(ESTABLISHED, signing, EventRetracted(event_id=signing.id, reason="x"))
    assert refused(state, entry(KZ_SIGNS, corrects=signing.id)) == "already-retracted"
    again = EventRetracted(event_id=signing.id, reason="again")
    assert refused(state, entry(again)) == "already-retracted"


def test_amendment_needs_a_signed_lease() -> None:
    amended = LeaseAmended(lease="baikonur", expires="2050")
    assert refused(given(stream="lease-baikonur"), entry(amended)) == "lease-not-signed"
    signed = LeaseSigned(lease="baikonur", facility="baikonur", lessor="KZ", lessee="RU")
    state = given(signed, stream="lease-baikonur")
    assert decide(state, entry(amended)).version == 2
    ended = given(signed, LeaseEnded(lease="baikonur"), stream="lease-baikonur")
    assert refused(ended, entry(amended)) == "lease-ended"


def test_reschedule_needs_an_announced_mission() -> None:
    moved = MissionRescheduled(mission="change-7", planned="2026-08")
    assert refused(given(stream="mission-change-7"), entry(moved)) == "mission-not-announced"
    announced = MissionAnnounced(mission="change-7", name="Chang'e-7", planned="2026~")
    assert decide(given(announced, stream="mission-change-7"), entry(moved)).version == 2


def test_program_is_established_once() -> None:
    assert refused(given(ESTABLISHED), entry(ESTABLISHED)) == "already-established"


def test_an_id_already_in_the_stream_is_refused() -> None:
    signing = entry(KZ_SIGNS)
    state = given(ESTABLISHED, signing)
    assert refused(state, Entry(signing.id, KZ_LEAVES)) == "duplicate-id"
