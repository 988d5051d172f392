"""Projection benchmark: 1,000,000 events over 10,000 streams, in one run.

(a) rebuild rate of the `programs` projection against a raw ordered read of the same log with
    msgspec decoding (target: at least 0.3 of raw), with the rebuild's peak memory;
(b) read latency of as_of / known_at queries, p50 and p99, at 10,000 and at 1,000,000 events
    (targets: p99 <= 10 ms in-process; p50 at 1M <= 1.5x p50 at 10k).
Run: ``.venv/bin/python -m bench.projections`` (DATABASE_URL picks the server).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import scratch_database, server_version
from events.catalogue import decode_payload
from events.dates import parse_date_bounds
from events.store import READ_LOG
from projections import folds, queries
from projections.facts import known
from projections.projector import Projector
from projections.store import ensure_state
from service.database import create_pool

STREAMS = int(os.environ.get("BENCH_STREAMS", "10000"))
PER_STREAM = int(os.environ.get("BENCH_PER_STREAM", "100"))
SMALL = 10_000
READS = 400
COLUMNS = ("id", "stream", "version", "type", "schema_version", "effective", "effective_lower",
           "effective_upper", "reported_on", "data", "metadata", "digest")  # fmt: skip
EDTF = ["{d}", "{m}", "{y}", "{d}?", "{y}~"]


def rows_for(stream_no: int, first: int, count: int) -> list[tuple[Any, ...]]:
    """Events ``first..first+count-1`` of program stream ``stream_no`` (0 = establishment)."""
    rng = random.Random(stream_no * 7919 + first)
    program = f"prog-{stream_no}"
    out: list[tuple[Any, ...]] = []
    for version in range(first, first + count):
        if version == 0:
            type_, data, effective = (
                "program.established",
                {"program": program, "name": program},
                "2000",
            )
        else:
            day = date(2001, 1, 1) + timedelta(days=rng.randrange(9000))
            effective = rng.choice(EDTF).format(
                d=day.isoformat(), m=day.strftime("%Y-%m"), y=day.year
            )
            data = {"program": program, "party": f"co-{version}", "party_type": "company"}
            type_ = "membership.signed"
        bounds = parse_date_bounds(effective.rstrip("?~"))  # same bounds; no edtf parse
        reported = (bounds.upper or date(2030, 1, 1)) + timedelta(days=rng.randrange(60))
        out.append((uuid.uuid4(), f"program-{program}", version + 1, type_, 1, effective,
                    bounds.lower, bounds.upper, min(reported, date(2026, 11, 1)), data, {},
                    hashlib.sha256(repr(data).encode()).digest()))  # fmt: skip
    return out


async def load(pool: asyncpg.Pool, streams: range, first: int, count: int) -> int:
    """COPY ``count`` events per stream, starting at version ``first``, in 100k-row chunks."""
    chunk: list[tuple[Any, ...]] = []
    loaded = 0
    for stream_no in streams:
        chunk += rows_for(stream_no, first, count)
        if len(chunk) >= 100_000:
            loaded += await _copy(pool, chunk)
            chunk = []
    if chunk:
        loaded += await _copy(pool, chunk)
    return loaded


async def _copy(pool: asyncpg.Pool, rows: list[tuple[Any, ...]]) -> int:
    async with pool.acquire() as connection:
        await connection.copy_records_to_table("events", records=rows, columns=COLUMNS)
    return len(rows)


async def raw_read_rate(pool: asyncpg.Pool) -> tuple[float, int]:
    """Events/s of an ordered read of the whole log with msgspec decoding of each payload."""
    query = READ_LOG.format(columns="position, transaction_id, type, data")
    cursor, count = (0, 0), 0
    started = time.perf_counter()
    async with pool.acquire() as connection:
        while rows := await connection.fetch(query, *cursor, None, None, 5_000):
            for row in rows:
                decode_payload(row["type"], row["data"])
            count += len(rows)
            cursor = (rows[-1]["transaction_id"], rows[-1]["position"])
    return count / (time.perf_counter() - started), count


async def rebuild_rate(pool: asyncpg.Pool, projector: Projector) -> tuple[float, int]:
    """Events/s of a `programs` rebuild."""
    started = time.perf_counter()
    count = await projector.rebuild("programs")
    return count / (time.perf_counter() - started), count


async def rebuild_memory(projector: Projector) -> float:
    """Peak Python memory allocated during a `programs` rebuild (MiB), traced separately."""
    tracemalloc.start()
    try:
        await projector.rebuild("programs")
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


async def read_latencies(pool: asyncpg.Pool, streams: int) -> dict[str, float]:
    """p50/p99 (ms) of one program read plus fold, with as_of and with as_of + known_at."""
    rng = random.Random(42)
    for n in range(50):  # warm-up: prepared statements, caches
        await queries.read(pool, "programs", f"prog-{n % streams}")
    timings: dict[str, list[float]] = {"as_of": [], "known_at": []}
    for n in range(READS):
        program = f"prog-{rng.randrange(streams)}"
        as_of = date(2001, 1, 1) + timedelta(days=rng.randrange(9500))
        kind = "as_of" if n % 2 else "known_at"
        known_at = as_of + timedelta(days=rng.randrange(400)) if kind == "known_at" else None
        started = time.perf_counter()
        snapshot = await queries.read(pool, "programs", program)
        view = folds.program(known(snapshot.facts[program], known_at), as_of)
        timings[kind].append((time.perf_counter() - started) * 1000)
        assert view is None or view.member_count >= 0
    return {
        f"{kind} {q}": statistics.quantiles(values, n=100)[49 if q == "p50" else 98]
        for kind, values in timings.items()
        for q in ("p50", "p99")
    }


async def main() -> int:
    async with scratch_database() as dsn:
        pool = await create_pool(dsn, 6)
        await ensure_state(pool)
        projector = Projector(pool, dsn, ["programs"], batch_size=5_000)
        await projector.acquire()
        version = await server_version(dsn)
        small_streams = SMALL // PER_STREAM
        await load(pool, range(small_streams), 0, PER_STREAM)
        await projector.catch_up("programs")
        small = await read_latencies(pool, small_streams)
        small_memory = await rebuild_memory(projector)
        started = time.perf_counter()
        loaded = await load(pool, range(small_streams, STREAMS), 0, PER_STREAM)
        load_seconds = time.perf_counter() - started
        await pool.execute("ANALYZE events")
        raw, total = await raw_read_rate(pool)
        rebuild, _ = await rebuild_rate(pool, projector)
        memory = await rebuild_memory(projector)
        await pool.execute("ANALYZE projection_facts")
        large = await read_latencies(pool, STREAMS)
        await projector.release()
        await pool.close()
    report = {
        "postgres": version, "events": total, "streams": STREAMS,
        "load_events_per_s": loaded / load_seconds,
        "raw_read_events_per_s": raw, "rebuild_events_per_s": rebuild,
        "rebuild_over_raw": rebuild / raw,
        "rebuild_peak_traced_mib": {"10k": small_memory, "1M": memory},
        "latency_ms": {"10k": small, "1M": large},
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "projections.json").write_text(json.dumps(report, indent=2))
    ok = (
        rebuild / raw >= 0.3
        and all(v <= 10 for v in large.values())
        and large["as_of p50"] <= 1.5 * small["as_of p50"]
        and large["known_at p50"] <= 1.5 * small["known_at p50"]
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
