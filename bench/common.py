"""Shared bench plumbing: a throwaway database on DATABASE_URL's server or an embedded one,
and a real ``accordlog serve`` process on it, reachable on loopback only."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from service.database import EmbeddedPostgres, migrate


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A fresh, migrated database, dropped afterwards."""
    embedded = None
    server = os.environ.get("DATABASE_URL")
    directory = tempfile.TemporaryDirectory(prefix="accordlog-bench-")
    if not server:
        embedded = EmbeddedPostgres(Path(directory.name))
        server = embedded.start()
    name = f"accordlog_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        await migrate(dsn)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if embedded is not None:
            embedded.stop()
        directory.cleanup()


async def server_version(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


class NotLoopback(ValueError):
    """A bench may only talk to a server on this machine."""


def loopback_base(host: str, port: int) -> str:
    """``http://host:port`` for a loopback address literal; anything else is refused.

    Names are refused too: what ``localhost`` resolves to is the resolver's choice, not ours.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NotLoopback(f"{host!r} is not an IP address; use 127.0.0.1") from None
    if not address.is_loopback:
        raise NotLoopback(f"{host} is not a loopback address; benches only load this machine")
    return f"http://{host}:{port}" if address.version == 4 else f"http://[{host}]:{port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve(
    dsn: str, env: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[str]:
    """A ``accordlog serve`` process bound to ``host`` (loopback only); yields its base URL.

    No write rate limit (``ACCORDLOG_WRITE_RATE=0``): a bench measures the service, not a cap.
    """
    base = loopback_base(host, port := free_port(host))
    settings = {
        "DATABASE_URL": dsn, "ACCORDLOG_HOST": host, "ACCORDLOG_PORT": str(port),
        "ACCORDLOG_DEMO": "0", "ACCORDLOG_WRITE_RATE": "0",
    }  # fmt: skip
    process = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "service.cli", "serve"],
        env={**os.environ, **settings, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_ready(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


async def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Until ``/readyz`` answers 200; fails if the process exits first."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=1, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited early with status {process.returncode}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("serve did not become ready")
