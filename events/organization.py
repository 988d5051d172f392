"""Organizations such as the ILRS Cooperation Organization (ILRSCO)."""

from __future__ import annotations

import msgspec

from events.base import DomainEvent
from events.vocabulary import MAX_ITEMS, Party, Slug, Text, check_party


class OrganizationEvent(DomainEvent, frozen=True, kw_only=True):
    """An event of the ``organization-{organization}`` stream."""

    organization: Slug
    name: Text
    program: Slug | None = None
    founders: tuple[Party, ...] = msgspec.field(default=())

    @property
    def stream(self) -> str:
        return f"organization-{self.organization}"

    def validate(self) -> None:
        if len(self.founders) > MAX_ITEMS:
            raise ValueError(f"founders: at most {MAX_ITEMS} parties")
        for party in self.founders:
            check_party("founders", party)


class OrganizationAnnounced(
    OrganizationEvent, frozen=True, kw_only=True, tag="organization.announced"
):
    pass


class OrganizationEstablished(
    OrganizationEvent, frozen=True, kw_only=True, tag="organization.established"
):
    pass


OrganizationEvents = OrganizationAnnounced | OrganizationEstablished
