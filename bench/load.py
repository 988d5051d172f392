"""Mixed read/write load at a fixed rate on loopback; then, is every acknowledged write in the log?

A real ``accordlog serve`` (demo data loaded, no write rate limit) on a scratch database, bound to
127.0.0.1. Requests fire on an open-loop schedule, ``BENCH_RATE`` a second for ``BENCH_SECONDS``,
whatever earlier requests are doing, with at most ``BENCH_CONCURRENCY`` in flight; latency runs
from each request's scheduled time, so waiting for a slot counts (no coordinated omission).
Errors are 5xx answers and transport errors; the deliberate stale ``If-Match`` appends' 412s are
counted apart. Prints a markdown table; writes JSON to ``BENCH_OUT`` if set.
Run: ``.venv/bin/python -m bench.load`` (DATABASE_URL picks the server, else an embedded one).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import NotLoopback, loopback_base, scratch_database, serve, server_version
from bench.workload import Operation, Outcome, Workload
from service.auth import create_token

SECONDS = float(os.environ.get("BENCH_SECONDS", "180"))
RATE = float(os.environ.get("BENCH_RATE", "200"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
HOST = os.environ.get("BENCH_HOST", "127.0.0.1")
OUT = os.environ.get("BENCH_OUT")
WINDOW = 30  # seconds of schedule per line of the over-time report


@dataclass
class Tally:
    """What one operation class (or all of them) saw."""

    latencies: list[float] = field(default_factory=list)  # ms from the scheduled time
    service: list[float] = field(default_factory=list)  # ms from the moment it was sent
    results: Counter[str] = field(default_factory=Counter)  # "201", "412 (expected)", "ReadTimeout"

    def add(self, outcome: Outcome, latency: float, service: float) -> None:
        self.latencies.append(latency)
        self.service.append(service)
        result = str(outcome.result) + (" (expected)" if outcome.expected_412 else "")
        self.results[result] += 1

    @property
    def errors(self) -> int:
        return sum(n for result, n in self.results.items() if _is_error(result))

    def summary(self, seconds: float) -> dict[str, Any]:
        return {
            "sent": len(self.latencies),
            "rate_per_s": len(self.latencies) / seconds,
            "errors": self.errors,
            "expected_412": self.results["412 (expected)"],
            "results": dict(sorted(self.results.items())),
            "latency_ms": _percentiles(self.latencies),
            "service_ms": _percentiles(self.service),
        }


def _is_error(result: str) -> bool:
    """5xx, a transport error or any exception; an unexpected 412 too (a stream lost track)."""
    return not result[:3].isdigit() or result.startswith("5") or result == "412"


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def rank(q: float) -> float:  # nearest rank
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]

    return {"p50": rank(0.5), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}


@dataclass
class Run:
    """The open-loop driver: request ``i`` is due at ``start + i / rate``."""

    client: httpx.AsyncClient
    workload: Workload
    tallies: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    late_ms: list[float] = field(default_factory=list)  # how late each request was dispatched
    windows: defaultdict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    start: float = 0.0

    async def drive(self, rate: float, seconds: float, concurrency: int) -> float:
        """Fires every scheduled request, waits for the last answers; the schedule's length."""
        slots = asyncio.Semaphore(concurrency)
        pending: set[asyncio.Task[None]] = set()
        start = self.start = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = start + i / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            self.late_ms.append((time.perf_counter() - due) * 1000)
            task = asyncio.create_task(self.one(*self.workload.pick(), due, slots))
            pending.add(task)
            task.add_done_callback(pending.discard)
        elapsed = time.perf_counter() - start
        await asyncio.gather(*pending)
        return elapsed

    async def one(
        self, name: str, operation: Operation, due: float, slots: asyncio.Semaphore
    ) -> None:
        async with slots:
            sent = time.perf_counter()
            try:
                outcome = await operation(self.client)
            except Exception as error:  # transport errors and broken answers alike
                outcome = Outcome(type(error).__name__)
            done = time.perf_counter()
        latency, service = (done - due) * 1000, (done - sent) * 1000
        self.tallies[name].add(outcome, latency, service)
        self.windows[int((due - self.start) // WINDOW)].add(outcome, latency, service)


async def missing_writes(client: httpx.AsyncClient, acked: dict[str, int]) -> tuple[int, int]:
    """Pages the whole log: acknowledged events absent from it, and ones at another position."""
    seen: dict[str, int] = {}
    after = 0
    while True:
        page = (await client.get("/v1/events", params={"after": after, "limit": 1000})).json()
        seen.update((event["id"], event["position"]) for event in page["events"])
        if not page["events"]:
            break
        after = page["next_after"]
    missing = sum(1 for event_id in acked if event_id not in seen)
    moved = sum(1 for event_id, at in acked.items() if event_id in seen and seen[event_id] != at)
    return missing, moved


def table(report: dict[str, Any]) -> str:
    """The markdown table: one row per operation class, then all of them."""
    lines = [
        "| class | sent | rate/s | errors | 412 expected | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows = [*report["classes"].items(), ("**all**", report["overall"])]
    for name, row in rows:
        cut = row["latency_ms"]
        lines.append(
            f"| {name} | {row['sent']} | {row['rate_per_s']:.1f} | {row['errors']} | "
            f"{row['expected_412']} | {cut['p50']:.1f} | {cut['p95']:.1f} | {cut['p99']:.1f} | "
            f"{cut['max']:.1f} |"
        )
    errors = {
        f"{name}: {result}": n
        for name, row in report["classes"].items()
        for result, n in row["results"].items()
        if not result.startswith("2") and "expected" not in result
    }
    lines.append("")
    lines.append(
        "Non-2xx answers: " + (", ".join(f"{k} x{n}" for k, n in errors.items()) or "none")
    )
    return "\n".join(lines)


def windows_table(report: dict[str, Any]) -> str:
    """Latency over the run, by when requests were scheduled: a growing queue shows here."""
    lines = [
        "| scheduled at | sent | errors | p50 ms | p99 ms | max ms | send-to-answer p50 ms |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for window in report["windows"]:
        cut, service, start = window["latency_ms"], window["service_ms"], window["from_s"]
        lines.append(
            f"| {start}-{start + WINDOW} s | {window['sent']} | {window['errors']} | "
            f"{cut['p50']:.1f} | {cut['p99']:.1f} | {cut['max']:.1f} | {service['p50']:.1f} |"
        )
    return "\n".join(lines)


async def measure(base: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=limits, trust_env=False
    ) as client:
        run = Run(client, Workload(random.Random(20261124)))
        elapsed = await run.drive(RATE, SECONDS, CONCURRENCY)
        missing, moved = await missing_writes(client, run.workload.acked)
    overall = Tally()
    for tally in run.tallies.values():
        overall.latencies += tally.latencies
        overall.service += tally.service
        overall.results += tally.results
    return {
        "target_rate_per_s": RATE, "seconds": SECONDS, "concurrency_cap": CONCURRENCY,
        "classes": {name: run.tallies[name].summary(elapsed) for name in sorted(run.tallies)},
        "overall": overall.summary(elapsed),
        "dispatch_late_ms": _percentiles(run.late_ms),
        "windows": [
            {"from_s": n * WINDOW, **window.summary(WINDOW)}
            for n, window in sorted(run.windows.items())
        ],
        "acknowledged_events": len(run.workload.acked),
        "missing_events": missing, "events_at_another_position": moved,
    }  # fmt: skip


async def run_bench() -> dict[str, Any]:
    """A scratch database, a server on it, the load, the check; the report."""
    async with scratch_database() as dsn:
        connection = await asyncpg.connect(dsn)
        token = await create_token(connection, ["write"], "bench.load")
        version = await server_version(dsn)
        await connection.close()
        async with serve(dsn, {"ACCORDLOG_DEMO": "1"}, host=HOST) as base:
            load_before = os.getloadavg()
            report = await measure(base, token)
    # Everything shares this machine: server, PostgreSQL, this client and whatever else runs.
    context = {
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    return {"postgres": version, **context, **report}


def main() -> int:
    try:
        loopback_base(HOST, 1)
    except NotLoopback as refusal:
        print(f"bench.load: BENCH_HOST: {refusal}", file=sys.stderr)
        return 2
    report = asyncio.run(run_bench())
    print(f"PostgreSQL {report['postgres']}; {RATE:g} req/s for {SECONDS:g} s, "
          f"at most {CONCURRENCY} in flight")  # fmt: skip
    print(table(report))
    print()
    print(windows_table(report))
    print()
    late = report["dispatch_late_ms"]
    before, after = report["loadavg_before"][0], report["loadavg_after"][0]
    print(
        f"Machine: {report['cpus']} CPUs, 1-min load average {before:.2f} before, {after:.2f} after"
    )
    print(f"Dispatch lateness (client side) p99 {late['p99']:.1f} ms, max {late['max']:.1f} ms")
    print(
        f"Acknowledged events: {report['acknowledged_events']}; missing from the log: "
        f"{report['missing_events']}; at another position: {report['events_at_another_position']}"
    )
    if OUT:
        Path(OUT).write_text(json.dumps(report, indent=2))
    lost = report["missing_events"] or report["events_at_another_position"]
    return 1 if lost or report["overall"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
