from datetime import date

import msgspec
import pytest

from events.catalogue import EVENT_TYPES, decode_payload, load_stored, payload_of
from events.envelope import InvalidEvent, parse_batch
from events.mission import MissionAnnounced
from events.program import MembershipSigned

TODAY = date(2026, 11, 24)


def body(event: dict[str, object]) -> bytes:
    return msgspec.json.encode(event)


def signing(**data: object) -> dict[str, object]:
    payload = {"program": "ilrs", "party": "KZ", "party_type": "country", **data}
    return {"type": "membership.signed", "effective": "2024-07-03", "data": payload}


def test_every_type_of_the_design_is_in_the_catalogue() -> None:
    assert set(EVENT_TYPES) == {
        "program.established", "membership.signed", "membership.withdrawn",
        "lease.signed", "lease.amended", "lease.ended",
        "mission.announced", "mission.rescheduled", "mission.launched", "mission.cancelled",
        "organization.announced", "organization.established",
        "agreement.signed", "event.retracted",
    }  # fmt: skip


def test_events_are_frozen_and_know_their_stream() -> None:
    event = decode_payload(
        "membership.signed", b'{"program":"ilrs","party":"KZ","party_type":"country"}'
    )
    assert isinstance(event, MembershipSigned)
    assert event.stream == "program-ilrs"
    with pytest.raises(AttributeError):
        event.party = "RU"  # type: ignore[misc]


def test_payload_round_trips_without_the_tag() -> None:
    event = decode_payload(
        "membership.signed", b'{"program":"ilrs","party":"KZ","party_type":"country"}'
    )
    stored = payload_of(event)
    assert "type" not in stored
    assert load_stored("membership.signed", 1, stored) == event


def test_v0_payload_is_upcast_on_read() -> None:
    v0 = {"mission": "change-7", "name": "Chang'e-7", "planned_year": 2026}
    event = load_stored("mission.announced", 0, v0)
    assert isinstance(event, MissionAnnounced)
    assert event.planned == "2026"


@pytest.mark.parametrize(
    ("event", "pointer"),
    [
        (signing(party="XX"), "$.data.party"),
        (signing(party="kz"), "$.data.party"),
        (signing(party="Kazakhstan"), "$.data.party"),
        (signing(party_type="planet"), "$.data.party_type"),
        (signing(extra=1), "$.data.extra"),
        ({**signing(), "effective": "2024-07-33"}, "$.effective"),
        ({**signing(), "type": "membership.sighned"}, "$.type"),
        ({"type": "membership.signed", "data": {}}, "$.effective"),
        ({**signing(), "reported_on": "2999-01-01"}, "$.reported_on"),
    ],
)
def test_invalid_events_name_the_field(event: dict[str, object], pointer: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_batch(body(event), max_batch=10, today=TODAY)
    assert caught.value.pointer == pointer


def test_missing_data_field_is_named() -> None:
    event = signing()
    del event["data"]["party"]  # type: ignore[attr-defined]
    with pytest.raises(InvalidEvent) as caught:
        parse_batch(body(event), max_batch=10, today=TODAY)
    assert caught.value.pointer == "$.data.party"


def test_batch_pointers_carry_the_index() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_batch(body([signing(), signing(party="XX")]), max_batch=10, today=TODAY)  # type: ignore[arg-type]
    assert caught.value.pointer == "$[1].data.party"


def test_batch_limits() -> None:
    with pytest.raises(InvalidEvent, match="empty batch"):
        parse_batch(b"[]", max_batch=10, today=TODAY)
    with pytest.raises(InvalidEvent, match="limit is 2"):
        parse_batch(body([signing()] * 3), max_batch=2, today=TODAY)  # type: ignore[arg-type]


def test_same_id_twice_in_a_batch_is_refused() -> None:
    event = {**signing(), "id": "3f1f2c56-6f55-4d44-8f6e-8a1f5f2b3c4d"}
    with pytest.raises(InvalidEvent, match="twice"):
        parse_batch(body([event, event]), max_batch=10, today=TODAY)  # type: ignore[arg-type]


def test_digest_ignores_formatting_but_not_content() -> None:
    a = parse_batch(
        b'{"type":"membership.signed","effective":"2024","data":{"program":"x","party":"KZ","party_type":"country"}}',
        max_batch=1,
        today=TODAY,
    )[0]
    b = parse_batch(
        b'{ "data": {"party_type":"country", "party":"KZ", "program":"x"}, '
        b'"effective":"2024", "type":"membership.signed"}',
        max_batch=1,
        today=TODAY,
    )[0]
    c = parse_batch(
        b'{"type":"membership.signed","effective":"2025","data":{"program":"x","party":"KZ","party_type":"country"}}',
        max_batch=1,
        today=TODAY,
    )[0]
    assert a.digest == b.digest != c.digest
