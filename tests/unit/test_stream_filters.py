from datetime import UTC, date, datetime

import msgspec

from service.routes.streams import cloud_event, matches


def raw(value: object) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(value))


def test_filters_match_the_entity_or_what_the_view_names() -> None:
    members = raw({"program": "ilrs", "members": [{"party": "KZ"}, {"party": "RU"}]})
    assert matches("memberships", "ilrs", members, {"program": "ilrs"})
    assert not matches("memberships", "artemis-accords", members, {"program": "ilrs"})
    assert matches("memberships", "ilrs", members, {"party": "KZ"})
    assert not matches("memberships", "ilrs", members, {"party": "US"})
    mission = raw({"mission": "change-7", "program": "ilrs"})
    assert matches("missions", "change-7", mission, {"program": "ilrs"})
    agreement = raw({"agreement": "a", "parties": ["CN", "KZ"]})
    assert matches("agreements", "a", agreement, {"party": "KZ"})
    assert matches("parties", "KZ", None, {"party": "KZ"})  # a deletion still reaches its party
    assert matches("programs", "x", None, {})


def test_cloud_event_time_only_when_exact() -> None:
    row = {"seq": 7, "entity": "ilrs", "op": "upsert", "row": raw({"n": 1}), "position": 3,
           "recorded_at": datetime(2026, 11, 24, tzinfo=UTC),
           "effective_lower": date(2024, 7, 3), "effective_upper": date(2024, 7, 3)}  # fmt: skip
    event = cloud_event("programs", row)
    assert (event.id, event.sequence, event.subject) == ("programs:7", "7", "ilrs")
    assert event.time == datetime(2024, 7, 3, tzinfo=UTC)
    vague = cloud_event("programs", {**row, "effective_upper": date(2024, 7, 31)})
    assert vague.time is None
    assert b'"time"' not in msgspec.json.encode(vague)
