"""Latency from append to SSE receipt, under 100 events/s of background appends.

A real `accordlog serve` process (with its projector and webhook worker) on a scratch database.
A probe posts one membership signing to its own program every 100 ms and times, from just
before the POST, until the SSE change for that program arrives, and until a webhook for it
reaches a local receiver. Targets (SSE): p50 <= 25 ms, p99 <= 100 ms.
Run: ``.venv/bin/python -m bench.latency`` (DATABASE_URL picks the server).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import statistics
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
from httpx_sse import aconnect_sse

from bench.common import scratch_database, serve, server_version
from service.auth import create_token

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
BACKGROUND_RATE = int(os.environ.get("BENCH_RATE", "100"))


def event(type_: str, data: dict[str, object]) -> dict[str, object]:
    return {"type": type_, "effective": "2024-07-03", "id": str(uuid.uuid4()), "data": data}


async def background(
    client: httpx.AsyncClient, base: str, auth: dict[str, str], stop: asyncio.Event
) -> int:
    """About 100 appends a second to other streams, until ``stop``."""
    sent, started = 0, time.perf_counter()
    while not stop.is_set():
        mission = f"bg-{uuid.uuid4().hex[:12]}"
        await client.post(
            f"{base}/v1/events",
            headers=auth,
            json=event(
                "mission.announced", {"mission": mission, "name": mission, "planned": "2030"}
            ),
        )
        sent += 1
        delay = started + sent / BACKGROUND_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return sent


class Receiver:
    """A local webhook endpoint that notes when each delivery arrives."""

    def __init__(self) -> None:
        self.arrivals: queue.Queue[float] = queue.Queue()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                arrivals.put(time.perf_counter())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def probe(
    client: httpx.AsyncClient, base: str, auth: dict[str, str]
) -> tuple[list[float], list[float]]:
    program = "probe"
    receiver = Receiver()
    hook = {"url": receiver.url, "projection": "programs", "filter": {"program": program}}
    await client.post(f"{base}/v1/webhooks", headers=auth, json=hook)
    await client.post(
        f"{base}/v1/events",
        headers=auth,
        json=event("program.established", {"program": program, "name": "Probe"}),
    )
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def listen() -> None:
        url = f"{base}/v1/projections/programs/changes/stream?program={program}"
        async with aconnect_sse(client, "GET", url) as source:
            async for sse in source.aiter_sse():
                if sse.event == "change":
                    await arrived.put(time.perf_counter())

    listener = asyncio.create_task(listen())
    await asyncio.sleep(1)
    while not arrived.empty():
        arrived.get_nowait()
    while not receiver.arrivals.empty():
        receiver.arrivals.get_nowait()
    latencies, hooked = [], []
    deadline = time.perf_counter() + SECONDS
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        started = time.perf_counter()
        await client.post(
            f"{base}/v1/events",
            headers=auth,
            json=event(
                "membership.signed",
                {"program": program, "party": f"co-{n}", "party_type": "company"},
            ),
        )
        latencies.append((await asyncio.wait_for(arrived.get(), 10) - started) * 1000)
        hooked.append((await asyncio.to_thread(receiver.arrivals.get, True, 10) - started) * 1000)
        await asyncio.sleep(0.1)
    listener.cancel()
    receiver.server.shutdown()
    return latencies, hooked


async def main() -> int:
    async with scratch_database() as dsn:
        pool = await asyncpg.connect(dsn)
        token = await create_token(pool, ["write"], "bench")
        version = await server_version(dsn)
        await pool.close()
        webhooks = {"ACCORDLOG_WEBHOOKS_ALLOW_PRIVATE": "true"}
        async with serve(dsn, webhooks) as base:  # ACCORDLOG_WRITE_RATE=0: no write cap
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
                stop = asyncio.Event()
                noise = asyncio.create_task(background(client, base, auth, stop))
                latencies, hooked = await probe(client, base, auth)
                stop.set()
                sent = await noise
    cuts = statistics.quantiles(latencies, n=100)
    hook_cuts = statistics.quantiles(hooked, n=100)
    report = {
        "postgres": version,
        "probes": len(latencies),
        "background_events_per_s": sent / SECONDS,
        "sse_p50_ms": cuts[49],
        "sse_p99_ms": cuts[98],
        "webhook_p50_ms": hook_cuts[49],
        "webhook_p99_ms": hook_cuts[98],
    }
    print(json.dumps(report, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "latency.json").write_text(json.dumps(report, indent=2))
    ok = cuts[49] <= 25 and cuts[98] <= 100
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
