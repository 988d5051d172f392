"""Property: for any arrival order of a history, incremental == rebuild == live fold.

Histories mix signings and withdrawals with imprecise EDTF dates, corrections and retractions,
each reported on its own date. Events the rules refuse in the order drawn are skipped, as an
ingest bot's would be. Then, for random ``as_of``/``known_at``, the projection maintained batch
by batch, a full rebuild, and a fold straight over the log must give the same answers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.errors import StoreError
from events.store import EventStore
from projections import folds, queries
from projections.facts import Fact, group_by_entity, known
from projections.projector import Projector
from projections.store import ensure_state
from service.database import create_pool
from tests.conftest import fresh_database
from tests.factories import new_events
from tests.horizon import below_horizon

PARTIES = ["KZ", "RU", "CN", "BY", "VE"]
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 12, 31))
edtf = st.one_of(
    days.map(date.isoformat),
    days.map(lambda d: d.strftime("%Y-%m")),
    days.map(lambda d: f"{d.year}"),
    days.map(lambda d: f"{d.isoformat()}?"),
    days.map(lambda d: f"{d.year}~"),
)
operation = st.one_of(
    st.tuples(st.just("sign"), st.sampled_from(PARTIES), edtf, days),
    st.tuples(st.just("withdraw"), st.sampled_from(PARTIES), edtf, days),
    st.tuples(st.just("correct"), st.integers(0, 30), edtf, days),
    st.tuples(st.just("retract"), st.integers(0, 30), st.just(""), days),
)


@pytest.fixture(scope="module")
def own_dsn(server_dsn: str) -> Iterator[str]:
    yield from fresh_database(server_dsn)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(own_dsn: str) -> AsyncIterator[tuple[asyncpg.Pool, Projector]]:
    pool = await create_pool(own_dsn, 6)
    await ensure_state(pool)
    projector = Projector(pool, own_dsn, ["programs", "parties"], batch_size=5)
    await projector.acquire()
    assert projector.active == {"programs", "parties"}
    yield pool, projector
    await projector.release()
    await pool.close()


def wire_history(program: str, ops: list[tuple[str, Any, str, date]]) -> list[dict[str, Any]]:
    named = {"program": program, "name": program}
    history = [{"id": str(uuid.uuid4()), "type": "program.established", "effective": "2019",
                "reported_on": "2019-06-01", "data": named}]  # fmt: skip
    for kind, what, when, reported in ops:
        event: dict[str, Any] = {"id": str(uuid.uuid4()), "reported_on": reported.isoformat()}
        if kind in {"sign", "withdraw"}:
            data: dict[str, Any] = {"program": program, "party": what}
            if kind == "sign":
                data["party_type"] = "country"
            event |= {"type": f"membership.{'signed' if kind == 'sign' else 'withdrawn'}",
                      "effective": when, "data": data}  # fmt: skip
        else:
            target = history[what % len(history)]
            if kind == "correct":
                event |= {"type": target["type"], "effective": when, "data": target["data"],
                          "corrects": target["id"]}  # fmt: skip
            else:
                event |= {"type": "event.retracted", "effective": target["effective"],
                          "data": {"event_id": target["id"], "reason": "generated"}}  # fmt: skip
        history.append(event)
    return history


def answers(
    facts: list[Fact], program: str, questions: list[tuple[date, date | None]]
) -> list[Any]:
    out = []
    for as_of, known_at in questions:
        view = known(facts, known_at)
        out.append((folds.program(view, as_of), folds.members(view, as_of)))
    return out


def party_answers(grouped: dict[str, list[Fact]], as_of: date, known_at: date | None) -> Any:
    return {p: folds.party(p, known(f, known_at), as_of) for p, f in sorted(grouped.items())}


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ops=st.lists(operation, min_size=1, max_size=14),
    questions=st.lists(st.tuples(days, st.one_of(st.none(), days)), min_size=1, max_size=3),
    every=st.integers(1, 4),
)
async def test_incremental_rebuild_and_live_fold_agree(
    setup: tuple[asyncpg.Pool, Projector], ops: list[Any], questions: list[Any], every: int
) -> None:
    pool, projector = setup
    program = f"p-{uuid.uuid4().hex[:10]}"
    store = EventStore(pool)
    for n, event in enumerate(wire_history(program, ops)):
        with contextlib.suppress(StoreError):  # refused in this order: skipped
            await store.append(new_events(event))
        if n % every == 0:
            await projector.catch_up("programs")
            await projector.catch_up("parties")
    await below_horizon(pool, f"program-{program}")
    await projector.catch_up("programs")
    await projector.catch_up("parties")

    live = await queries.live_facts(pool, [f"program-{program}"])
    incremental = (await queries.read(pool, "programs", program)).facts[program]
    mine = {f.id for f in live}
    parties_live = group_by_entity("parties", live)
    parties_incremental = {
        p: [f for f in facts if f.id in mine]
        for p, facts in (await queries.read(pool, "parties")).facts.items()
    }
    parties_incremental = {p: f for p, f in parties_incremental.items() if f}
    expected = answers(live, program, questions)
    assert answers(incremental, program, questions) == expected
    as_of, known_at = questions[0]
    assert party_answers(parties_incremental, as_of, known_at) == party_answers(
        parties_live, as_of, known_at
    )

    await projector.rebuild("programs")
    rebuilt = (await queries.read(pool, "programs", program)).facts[program]
    assert answers(rebuilt, program, questions) == expected
