"""The mixed workload of ``bench.load``: about 20% writes and 80% projection and log reads.

Writes make fresh streams (a mission, or a program with a few members in one batch) and append
to streams they made with ``If-Match``; a few of those appends send a stale version on purpose
and expect 412. Each stream is used by one request at a time, so a 412 is never an accident.
Every acknowledged event is remembered with its position, for the check that none went missing.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import httpx

# Weights in percent; the first four are writes.
MIX: dict[str, int] = {
    "write.single": 7, "write.batch": 6, "write.if_match": 5, "write.if_match_stale": 2,
    "read.program": 12, "read.members": 13, "read.log": 12, "read.leases": 10,
    "read.party": 10, "read.timeline": 10, "read.min_position": 13,
}  # fmt: skip
SEED_PROGRAMS = ("ilrs", "artemis-accords")
SEED_PARTIES = ("CN", "RU", "KZ", "US", "JP", "FR", "DE", "IN", "BR")
READABLE_AFTER = 2.0  # seconds: a new program is read once the projections had time to apply it


@dataclass(frozen=True, slots=True)
class Outcome:
    """A status code, or the name of the exception that stood in for one."""

    result: int | str
    expected_412: bool = False


def _today() -> date:
    return datetime.now(UTC).date()  # the server's "today" is UTC's


Operation = Callable[[httpx.AsyncClient], Awaitable[Outcome]]


def _event(type_: str, data: dict[str, Any], effective: str = "2025-05-01") -> dict[str, Any]:
    return {"type": type_, "effective": effective, "id": str(uuid.uuid4()), "data": data,
            "source": {"title": "bench.load"}}  # fmt: skip


@dataclass
class Workload:
    """Picks operations by weight and keeps what the writes made, for later reads and checks."""

    rng: random.Random
    acked: dict[str, int] = field(default_factory=dict)  # event id -> position
    last_position: int = 0
    idle: deque[tuple[str, int]] = field(default_factory=deque)  # (program, stream version)
    fresh: deque[tuple[float, str]] = field(default_factory=deque)
    programs: list[str] = field(default_factory=lambda: list(SEED_PROGRAMS))
    made: int = 0

    def pick(self) -> tuple[str, Operation]:
        """The next operation. An If-Match append takes its stream now, so no other request
        uses it meanwhile; without an idle stream it falls back to a single write."""
        name = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if name.startswith("write.if_match"):
            if not self.idle:
                return "write.single", self.write_single
            stream = self.idle.popleft()
            if name == "write.if_match":
                return name, partial(self.write_if_match, stream=stream)
            return name, partial(self.write_if_match_stale, stream=stream)
        return name, getattr(self, name.replace(".", "_"))

    def _slug(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}-{self.made}-{uuid.uuid4().hex[:6]}"

    async def _append(
        self, client: httpx.AsyncClient, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        response = await client.post("/v1/events", json=body, headers=headers)
        if response.status_code in {200, 201}:
            sent = [e["id"] for e in (body if isinstance(body, list) else [body])]
            landed = response.json()["events"]
            assert [e["id"] for e in landed] == sent, "acknowledged ids differ from those sent"
            for landed_event in landed:
                self.acked[landed_event["id"]] = landed_event["position"]
            self.last_position = max(self.last_position, response.json()["position"])
        return response

    async def write_single(self, client: httpx.AsyncClient) -> Outcome:
        mission = self._slug("bench-mission")
        data = {"mission": mission, "name": mission, "planned": "2031-06",
                "program": self.rng.choice(SEED_PROGRAMS)}  # fmt: skip
        return Outcome((await self._append(client, _event("mission.announced", data))).status_code)

    async def write_batch(self, client: httpx.AsyncClient) -> Outcome:
        program = self._slug("bench-program")
        batch = [_event("program.established", {"program": program, "name": program}, "2025")]
        for n in range(self.rng.randint(1, 4)):
            party = {"program": program, "party": f"co-{program}-{n}", "party_type": "company"}
            batch.append(_event("membership.signed", party, f"2025-0{n + 1}-15"))
        response = await self._append(client, batch)
        if response.status_code == 201:
            self.idle.append((program, response.json()["events"][-1]["version"]))
            self.fresh.append((time.monotonic(), program))
        return Outcome(response.status_code)

    async def write_if_match(self, client: httpx.AsyncClient, stream: tuple[str, int]) -> Outcome:
        program, version = stream
        party = self._slug("co")
        data = {"program": program, "party": party, "party_type": "company"}
        headers = {"If-Match": f'"{version}"'}
        response = await self._append(client, _event("membership.signed", data), headers)
        if response.status_code == 201:
            self.idle.append((program, response.json()["events"][-1]["version"]))
        return Outcome(response.status_code)  # any other answer: the version is unknown now

    async def write_if_match_stale(
        self, client: httpx.AsyncClient, stream: tuple[str, int]
    ) -> Outcome:
        program, version = stream
        data = {"program": program, "party": self._slug("co"), "party_type": "company"}
        headers = {"If-Match": f'"{version - 1}"'}
        response = await self._append(client, _event("membership.signed", data), headers)
        if response.status_code == 412:
            self.idle.append((program, version))
            return Outcome(412, expected_412=True)
        return Outcome(response.status_code)

    def _program(self) -> str:
        while self.fresh and time.monotonic() - self.fresh[0][0] > READABLE_AFTER:
            self.programs.append(self.fresh.popleft()[1])
        return self.rng.choice(self.programs)

    def _day(self, since: int = 2021) -> date:
        return min(date(self.rng.randint(since, 2026), self.rng.randint(1, 12), 15), _today())

    async def _get(self, client: httpx.AsyncClient, path: str, **params: Any) -> Outcome:
        return Outcome((await client.get(path, params=params)).status_code)

    async def read_program(self, client: httpx.AsyncClient) -> Outcome:
        return await self._get(client, f"/v1/programs/{self._program()}")

    async def read_members(self, client: httpx.AsyncClient) -> Outcome:
        """As of some day, as known on a day on which the program was known (else 404)."""
        program = self._program()
        known_at = _today() if program.startswith("bench-") else self._day(since=2025)
        path = f"/v1/programs/{program}/members"
        return await self._get(
            client, path, as_of=self._day().isoformat(), known_at=known_at.isoformat()
        )

    async def read_log(self, client: httpx.AsyncClient) -> Outcome:
        after = self.rng.randint(0, max(self.last_position - 100, 0))
        return await self._get(client, "/v1/events", after=after, limit=100)

    async def read_leases(self, client: httpx.AsyncClient) -> Outcome:
        return await self._get(client, "/v1/leases", as_of=self._day().isoformat())

    async def read_party(self, client: httpx.AsyncClient) -> Outcome:
        """A seeded party, or the first member of a program this run made."""
        program = self._program()
        party = f"co-{program}-0" if program.startswith("bench-") else None
        return await self._get(client, f"/v1/parties/{party or self.rng.choice(SEED_PARTIES)}")

    async def read_timeline(self, client: httpx.AsyncClient) -> Outcome:
        path = f"/v1/programs/{self._program()}/timeline"
        return await self._get(client, path, interval="year")

    async def read_min_position(self, client: httpx.AsyncClient) -> Outcome:
        """Read-your-writes: the programs view once it has applied the newest acknowledged write."""
        program = self.rng.choice(SEED_PROGRAMS)
        if self.last_position < 1:
            return await self._get(client, f"/v1/programs/{program}")
        path = f"/v1/programs/{program}"
        return await self._get(client, path, min_position=self.last_position)
