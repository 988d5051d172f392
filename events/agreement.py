"""Agreements: bilateral memoranda, accords and the like."""

from __future__ import annotations

from typing import Annotated

import msgspec

from events.base import DomainEvent
from events.vocabulary import (
    MAX_ITEMS,
    Edtf,
    Party,
    Slug,
    Text,
    check_edtf,
    check_party,
)

Topic = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class AgreementSigned(DomainEvent, frozen=True, kw_only=True, tag="agreement.signed"):
    agreement: Slug
    title: Text
    parties: tuple[Party, ...]
    topics: tuple[Topic, ...] = msgspec.field(default=())
    program: Slug | None = None
    facility: Slug | None = None
    enters_into_force: Edtf | None = None

    @property
    def stream(self) -> str:
        return f"agreement-{self.agreement}"

    def validate(self) -> None:
        if not 1 <= len(self.parties) <= MAX_ITEMS:
            raise ValueError(f"parties: between 1 and {MAX_ITEMS} parties")
        if len(self.topics) > MAX_ITEMS:
            raise ValueError(f"topics: at most {MAX_ITEMS} topics")
        for party in self.parties:
            check_party("parties", party)
        check_edtf("enters_into_force", self.enters_into_force)


AgreementEvents = AgreementSigned
