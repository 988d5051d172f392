"""The ``accordlog`` command as a user runs it: a real process, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from service.auth import hash_token

ACCORDLOG = [sys.executable, "-m", "service.cli"]


def run(dsn: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn, "CI": "true"}
    return subprocess.run(
        [*ACCORDLOG, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


async def test_token_create_prints_only_the_token(database_dsn: str, pool: asyncpg.Pool) -> None:
    done = run(database_dsn, "token", "create", "--scope", "write", "--name", "bot")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout == token + "\n" and token.startswith("acl_")
    row = await pool.fetchrow(
        "SELECT name, scopes FROM api_tokens WHERE token_hash = $1", hash_token(token)
    )
    assert row is not None and row["name"] == "bot" and row["scopes"] == ["write"]


async def test_import_is_rerunnable_and_reports_bad_lines(
    database_dsn: str, pool: asyncpg.Pool, tmp_path: Path, slug: str
) -> None:
    def line(type_: str, data: dict[str, object], effective: str = "2024") -> str:
        return json.dumps({"type": type_, "effective": effective, "data": data})

    kz: dict[str, object] = {"program": slug, "party": "KZ", "party_type": "country"}
    lines = [
        line("program.established", {"program": slug, "name": "P"}),
        line("membership.signed", kz),
        line("membership.signed", {"program": slug, "party": "XX", "party_type": "country"}),
        "{not json",
        line("membership.signed", kz, "2025"),
        line("membership.signed", {"program": slug, "party": "RU", "party_type": "country"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")

    first = run(database_dsn, "import", str(path))
    assert first.returncode == 1
    assert "line 3:" in first.stderr and "line 4:" in first.stderr and "line 5:" in first.stderr
    assert "3 appended" in first.stderr
    stream = f"program-{slug}"
    count = "SELECT count(*) FROM events WHERE stream = $1"
    assert await pool.fetchval(count, stream) == 3

    second = run(database_dsn, "import", str(path))
    assert "0 appended, 3 already stored" in second.stderr
    assert await pool.fetchval(count, stream) == 3


async def test_demo_imports_the_seed_story_once(database_dsn: str, pool: asyncpg.Pool) -> None:
    first = run(database_dsn, "demo")
    assert first.returncode == 0, first.stderr
    kz = await pool.fetchrow(
        "SELECT effective, metadata FROM events WHERE stream = 'program-ilrs' "
        "AND data->>'party' = 'KZ'"
    )
    assert kz is not None and kz["effective"] == "2024-07-03"
    assert b"Kazakhstan Joins" in bytes(kz["metadata"])
    total = await pool.fetchval("SELECT count(*) FROM events")
    again = run(database_dsn, "demo")
    assert again.returncode == 0 and "0 appended" in again.stderr
    assert await pool.fetchval("SELECT count(*) FROM events") == total


async def test_rebuild_command(database_dsn: str, pool: asyncpg.Pool) -> None:
    run(database_dsn, "demo")
    done = run(database_dsn, "rebuild", "programs")
    assert done.returncode == 0, done.stderr
    # Rebuilt here, or handed to the projector another process runs for it.
    assert "programs: rebuilt from" in done.stderr or "asked to rebuild" in done.stderr
    assert run(database_dsn, "rebuild", "nope").returncode == 2


def test_compose_roles_migrate_as_owner_then_run_as_the_app_role(
    database_dsn: str, tmp_path: Path
) -> None:
    """As docker-compose.yml does: the owner migrates, the service runs as accordlog_app."""
    from service.database import as_role

    env = {**os.environ, "DATABASE_URL": database_dsn, "CI": "true",
           "ACCORDLOG_APP_DB_PASSWORD": "app-password"}  # fmt: skip
    migrated = subprocess.run([*ACCORDLOG, "migrate"], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    assert "accordlog_app may log in" in migrated.stderr
    app = {**os.environ, "DATABASE_URL": as_role(database_dsn, password="app-password"),
           "ACCORDLOG_MIGRATE": "0", "CI": "true"}  # fmt: skip
    token = subprocess.run([*ACCORDLOG, "token", "create", "--scope", "admin"], env=app,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("acl_")
    refused = subprocess.run([*ACCORDLOG, "migrate"], env=app, capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert refused.returncode != 0  # the app role cannot change the schema
