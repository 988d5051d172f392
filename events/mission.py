"""Missions and their planned windows (Chang'e-7 "around 2026")."""

from __future__ import annotations

from datetime import date
from typing import Any

from events.base import DomainEvent
from events.vocabulary import Edtf, Party, Slug, Text, check_edtf, check_party


class MissionEvent(DomainEvent, frozen=True, kw_only=True):
    """An event of the ``mission-{mission}`` stream."""

    mission: Slug

    @property
    def stream(self) -> str:
        return f"mission-{self.mission}"


class MissionAnnounced(MissionEvent, frozen=True, kw_only=True, tag="mission.announced"):
    name: Text
    planned: Edtf
    program: Slug | None = None
    operator: Party | None = None
    target: Text | None = None

    def validate(self) -> None:
        check_edtf("planned", self.planned)
        if self.operator is not None:
            check_party("operator", self.operator)


def upcast_mission_announced_v0(data: dict[str, Any]) -> dict[str, Any]:
    """v0 stored the planned launch as a bare year number (``planned_year: 2026``)."""
    upcast = dict(data)
    year = upcast.pop("planned_year", None)
    if year is not None and "planned" not in upcast:
        upcast["planned"] = f"{int(year):04d}"
    return upcast


class MissionRescheduled(MissionEvent, frozen=True, kw_only=True, tag="mission.rescheduled"):
    planned: Edtf
    reason: Text | None = None

    def validate(self) -> None:
        check_edtf("planned", self.planned)


class MissionLaunched(MissionEvent, frozen=True, kw_only=True, tag="mission.launched"):
    launched_on: date
    name: Text | None = None


class MissionCancelled(MissionEvent, frozen=True, kw_only=True, tag="mission.cancelled"):
    reason: Text | None = None


MissionEvents = MissionAnnounced | MissionRescheduled | MissionLaunched | MissionCancelled
