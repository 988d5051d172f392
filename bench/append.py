"""Append throughput: the event store against raw asyncpg, same rows, same table, one run.

Shapes: single-event appends from 16 concurrent tasks, and 100-event batches from 4 tasks.
Raw and store rounds are interleaved, in alternating order; the median round counts.
Target: the store reaches at least 0.8 of the raw figure.
Run: ``make bench`` (DATABASE_URL picks the server, else an embedded one).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from bench.common import scratch_database, server_version
from events.envelope import NewEvent, parse_batch
from events.store import _INSERT_MANY, _INSERT_ONE, EventStore, _row
from service.database import create_pool

TODAY = __import__("datetime").date(2026, 11, 24)
SINGLE_TASKS, SINGLE_EVENTS = 16, 320  # per task and round
BATCH_TASKS, BATCHES, BATCH = 4, 25, 100  # per task and round
ROUNDS = 4
TARGET = 0.8


def wire(program: str, party: str) -> bytes:
    data = {"program": program, "party": party, "party_type": "company", "party_name": party}
    event = {"type": "membership.signed", "effective": "2024-07-03", "id": str(uuid.uuid4()),
             "source": {"title": "bench"}, "data": data}  # fmt: skip
    return msgspec.json.encode(event)


def program_events(program: str, count: int) -> list[NewEvent]:
    body = b"[" + b",".join(wire(program, f"co-{n}") for n in range(count)) + b"]"
    return parse_batch(body, max_batch=10**6, today=TODAY)


async def establish(store: EventStore, program: str) -> None:
    body = msgspec.json.encode({"type": "program.established", "effective": "2020",
                                "data": {"program": program, "name": program}})  # fmt: skip
    await store.append(parse_batch(body, max_batch=1, today=TODAY))


def raw_rows(events: list[NewEvent], stream: str) -> list[tuple[Any, ...]]:
    return [_row(new, stream, version) for version, new in enumerate(events, start=1)]


async def timed(tasks: list[Callable[[], Awaitable[None]]], events: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(task() for task in tasks))
    return events / (time.perf_counter() - started)


async def raw_singles(pool: asyncpg.Pool, tag: str) -> float:
    async def task(n: int) -> None:
        rows = raw_rows(program_events(f"raw-{tag}-{n}", SINGLE_EVENTS), f"program-raw-{tag}-{n}")
        async with pool.acquire() as connection:
            for row in rows:
                await connection.fetchval(_INSERT_ONE, *row)

    return await timed(
        [partial(task, n) for n in range(SINGLE_TASKS)], SINGLE_TASKS * SINGLE_EVENTS
    )


async def store_singles(pool: asyncpg.Pool, tag: str) -> float:
    store = EventStore(pool)
    batches = {}
    for n in range(SINGLE_TASKS):
        await establish(store, f"st-{tag}-{n}")
        batches[n] = program_events(f"st-{tag}-{n}", SINGLE_EVENTS)

    async def task(n: int) -> None:
        for new in batches[n]:
            await store.append([new])

    return await timed(
        [partial(task, n) for n in range(SINGLE_TASKS)], SINGLE_TASKS * SINGLE_EVENTS
    )


async def raw_batches(pool: asyncpg.Pool, tag: str) -> float:
    def prepared(n: int) -> list[list[tuple[Any, ...]]]:
        rows = raw_rows(program_events(f"rb-{tag}-{n}", BATCHES * BATCH), f"program-rb-{tag}-{n}")
        return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]

    work = {n: prepared(n) for n in range(BATCH_TASKS)}

    async def task(n: int) -> None:
        async with pool.acquire() as connection:
            for rows in work[n]:
                await connection.fetch(_INSERT_MANY, *zip(*rows, strict=True))

    return await timed(
        [partial(task, n) for n in range(BATCH_TASKS)], BATCH_TASKS * BATCHES * BATCH
    )


async def raw_batches_executemany(pool: asyncpg.Pool, tag: str) -> float:
    work = {n: raw_rows(program_events(f"rm-{tag}-{n}", BATCHES * BATCH), f"program-rm-{tag}-{n}")
            for n in range(BATCH_TASKS)}  # fmt: skip
    insert = _INSERT_ONE.replace("RETURNING position", "")

    async def task(n: int) -> None:
        async with pool.acquire() as connection:
            for i in range(0, len(work[n]), BATCH):
                async with connection.transaction():
                    await connection.executemany(insert, work[n][i : i + BATCH])

    return await timed(
        [partial(task, n) for n in range(BATCH_TASKS)], BATCH_TASKS * BATCHES * BATCH
    )


async def store_batches(pool: asyncpg.Pool, tag: str) -> float:
    store = EventStore(pool)
    work = {}
    for n in range(BATCH_TASKS):
        await establish(store, f"sb-{tag}-{n}")
        events = program_events(f"sb-{tag}-{n}", BATCHES * BATCH)
        work[n] = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]

    async def task(n: int) -> None:
        for batch in work[n]:
            await store.append(batch)

    return await timed(
        [partial(task, n) for n in range(BATCH_TASKS)], BATCH_TASKS * BATCHES * BATCH
    )


async def store_batches_with_parse(pool: asyncpg.Pool, tag: str) -> float:
    """The append path as HTTP drives it: wire bytes parsed and validated, then appended."""
    store = EventStore(pool)
    work = {}
    for n in range(BATCH_TASKS):
        await establish(store, f"sp-{tag}-{n}")
        bodies = [wire(f"sp-{tag}-{n}", f"co-{i}") for i in range(BATCHES * BATCH)]
        work[n] = [
            b"[" + b",".join(bodies[i : i + BATCH]) + b"]" for i in range(0, len(bodies), BATCH)
        ]

    async def task(n: int) -> None:
        for body in work[n]:
            await store.append(parse_batch(body, max_batch=1_000, today=TODAY))

    return await timed(
        [partial(task, n) for n in range(BATCH_TASKS)], BATCH_TASKS * BATCHES * BATCH
    )


async def main() -> int:
    async with scratch_database() as dsn:
        pool = await create_pool(dsn, SINGLE_TASKS + 2)
        version = await server_version(dsn)
        scenarios = {
            "raw single": raw_singles, "store single": store_singles,
            "raw batch (unnest)": raw_batches, "raw batch (executemany)": raw_batches_executemany,
            "store batch": store_batches, "store batch incl. parse": store_batches_with_parse,
        }  # fmt: skip
        rates: dict[str, list[float]] = {name: [] for name in scenarios}
        for round_ in range(ROUNDS):
            order = list(scenarios.items())
            if round_ % 2:  # alternate the order, so neither side always runs on a warmer server
                order.reverse()
            for name, scenario in order:
                rates[name].append(await scenario(pool, f"{round_}{len(rates[name])}"))
        await pool.close()
    median = {name: statistics.median(values) for name, values in rates.items()}
    raw_batch = max(median["raw batch (unnest)"], median["raw batch (executemany)"])
    ratios = {
        "single": median["store single"] / median["raw single"],
        "batch": median["store batch"] / raw_batch,
        "batch incl. parse": median["store batch incl. parse"] / raw_batch,
    }
    print(f"PostgreSQL {version}; medians of {ROUNDS} interleaved rounds, events/s")
    for name, value in median.items():
        print(f"  {name:28s} {value:>10,.0f}")
    for name, ratio in ratios.items():
        verdict = "ok" if ratio >= TARGET or "parse" in name else "BELOW TARGET"
        print(f"  store/raw {name:19s} {ratio:>10.2f}  (target >= {TARGET}) {verdict}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "append.json").write_text(
        json.dumps({"postgres": version, "median": median, "ratios": ratios}, indent=2)
    )
    return 0 if ratios["single"] >= TARGET and ratios["batch"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
