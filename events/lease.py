"""Spaceport leases, such as Baikonur, leased by Kazakhstan to Russia."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from events.base import DomainEvent
from events.vocabulary import MAX_NUMBER, Amount, Edtf, Party, Slug, Text, check_edtf, check_party


class Rent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount: Amount
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    per: Literal["year", "month", "once"] = "year"


class LeaseEvent(DomainEvent, frozen=True, kw_only=True):
    """An event of the ``lease-{lease}`` stream."""

    lease: Slug

    @property
    def stream(self) -> str:
        return f"lease-{self.lease}"


class LeaseSigned(LeaseEvent, frozen=True, kw_only=True, tag="lease.signed"):
    facility: Slug
    lessor: Party
    lessee: Party
    expires: Edtf | None = None
    rent: Rent | None = None
    area_ha: Amount | None = None

    def validate(self) -> None:
        check_party("lessor", self.lessor)
        check_party("lessee", self.lessee)
        check_edtf("expires", self.expires)


class LeaseAmended(LeaseEvent, frozen=True, kw_only=True, tag="lease.amended"):
    expires: Edtf | None = None
    rent: Rent | None = None
    area_change_ha: Annotated[float, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)] | None = None
    note: Text | None = None

    def validate(self) -> None:
        check_edtf("expires", self.expires)
        changes = (self.expires, self.rent, self.area_change_ha, self.note)
        if all(change is None for change in changes):
            raise ValueError("data: an amendment changes expires, rent, area or note")


class LeaseEnded(LeaseEvent, frozen=True, kw_only=True, tag="lease.ended"):
    pass


LeaseEvents = LeaseSigned | LeaseAmended | LeaseEnded
