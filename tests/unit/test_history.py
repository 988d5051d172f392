import uuid

from events.history import resolve
from events.program import MembershipSigned
from events.retraction import EventRetracted
from events.rules import Entry


def signing(party: str) -> MembershipSigned:
    return MembershipSigned(program="p", party=party, party_type="country")


def test_corrections_take_the_place_of_their_root_and_retractions_remove() -> None:
    a, b = Entry(uuid.uuid4(), signing("KZ")), Entry(uuid.uuid4(), signing("RU"))
    a2 = Entry(uuid.uuid4(), signing("KG"), corrects=a.id)
    a3 = Entry(uuid.uuid4(), signing("UZ"), corrects=a2.id)
    slots = resolve([a, b, a2, a3])
    assert [(s.original.id, s.current.id) for s in slots] == [(a.id, a3.id), (b.id, b.id)]
    undo = Entry(uuid.uuid4(), EventRetracted(event_id=a3.id, reason="wrong"))
    assert [s.current.id for s in resolve([a, b, a2, a3, undo])] == [a2.id, b.id]
    gone = Entry(uuid.uuid4(), EventRetracted(event_id=a.id, reason="never happened"))
    assert [s.current.id for s in resolve([a, b, a2, gone])] == [b.id]
