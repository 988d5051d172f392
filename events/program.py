"""Programs (the ILRS, the Artemis Accords) and the parties that sign up to them."""

from __future__ import annotations

from datetime import date

import msgspec

from events.base import DomainEvent
from events.vocabulary import MAX_ITEMS, Party, PartyType, Slug, Text, check_party, is_country_code


class ProgramEvent(DomainEvent, frozen=True, kw_only=True):
    """An event of the ``program-{program}`` stream."""

    program: Slug

    @property
    def stream(self) -> str:
        return f"program-{self.program}"


class ProgramEstablished(ProgramEvent, frozen=True, kw_only=True, tag="program.established"):
    name: Text
    led_by: tuple[Party, ...] = msgspec.field(default=())

    def validate(self) -> None:
        if len(self.led_by) > MAX_ITEMS:
            raise ValueError(f"led_by: at most {MAX_ITEMS} parties")
        for party in self.led_by:
            check_party("led_by", party)


class MembershipSigned(ProgramEvent, frozen=True, kw_only=True, tag="membership.signed"):
    party: Party
    party_type: PartyType
    party_name: Text | None = None
    instrument: Text | None = None
    place: Text | None = None

    def validate(self) -> None:
        check_party("party", self.party)
        if (self.party_type == "country") != is_country_code(self.party):
            raise ValueError(
                "party: a country is an ISO 3166-1 alpha-2 code (KZ) and any other party "
                "is a lowercase slug"
            )


class MembershipWithdrawn(ProgramEvent, frozen=True, kw_only=True, tag="membership.withdrawn"):
    party: Party
    notified_on: date | None = None

    def validate(self) -> None:
        check_party("party", self.party)


ProgramEvents = ProgramEstablished | MembershipSigned | MembershipWithdrawn
