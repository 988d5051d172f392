"""The ``accordlog`` command: serve, migrate, token create, import, demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from projections.facts import PROJECTIONS
from projections.projector import Projector
from projections.store import ensure_state
from service import logs
from service.auth import SCOPES, create_first_admin_token, create_token
from service.database import EmbeddedPostgres, create_pool, enable_app_login, migrate_sync
from service.importer import ImportReport, import_lines, read_lines
from service.settings import Settings, SettingsError

DEMO_FILE = Path(__file__).resolve().parent / "data" / "seed_story.jsonl"
err = Console(stderr=True, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``accordlog`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        err.print(f"[red]configuration error:[/red] {error}")
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        handler: Callable[[Settings, argparse.Namespace], int] = args.handler
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accordlog", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP API (embedded PostgreSQL by default)")
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="upgrade the schema to head").set_defaults(handler=_migrate)
    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token; prints only the token")
    create.add_argument("--scope", action="append", choices=SCOPES, required=True)
    create.add_argument("--name", default="cli")
    create.set_defaults(handler=_token_create)
    imports = commands.add_parser("import", help="import a JSON Lines file of wire events")
    imports.add_argument("file", type=Path)
    imports.add_argument("--batch-size", type=int, default=500)
    imports.set_defaults(handler=_import)
    commands.add_parser("demo", help="import the seed story's facts").set_defaults(handler=_demo)
    project = commands.add_parser("project", help="run the projector alone (no HTTP)")
    project.set_defaults(handler=_project)
    rebuild = commands.add_parser("rebuild", help="rebuild projections beside the live ones")
    rebuild.add_argument("names", nargs="*", metavar="NAME", help=", ".join(PROJECTIONS))
    rebuild.set_defaults(handler=_rebuild)
    return parser


@contextmanager
def database(settings: Settings, *, announce: bool = False) -> Iterator[str]:
    """DATABASE_URL, or an embedded server under the data directory (stopped on exit)."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    if announce:
        err.print(f"embedded PostgreSQL, data directory: [bold]{embedded.pgdata}[/bold]")
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def service_dsn(settings: Settings, owner_dsn: str) -> str:
    """Where the long-running service connects: the ``accordlog_app`` role where possible.

    ``ACCORDLOG_APP_DATABASE_URL`` wins. The embedded server (ours, trust over a private socket)
    gets the role enabled for login. A DATABASE_URL alone means running as its owner, said aloud.
    """
    if settings.app_database_url:
        return settings.app_database_url
    if settings.database_url is None:
        return asyncio.run(enable_app_login(owner_dsn))
    if not settings.migrate:  # DATABASE_URL is already the service's own role
        return owner_dsn
    err.print(
        "[yellow]running as the schema owner; set ACCORDLOG_APP_DATABASE_URL to log in as "
        "accordlog_app, which cannot change or delete events[/yellow]"
    )
    return owner_dsn


def _serve(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    logs.configure(style=settings.log_format)
    with database(settings, announce=True) as dsn:
        migrate_if_asked(settings, dsn)
        asyncio.run(_first_start(settings, dsn))
        app = create_app(
            settings, dsn=dsn, app_dsn=service_dsn(settings, dsn), run_migrations=False
        )
        err.print(f"serving on [bold]http://{settings.host}:{settings.port}[/bold]")
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            log_config=None,  # keep logs.configure(): uvicorn's records go through the scrubber
            timeout_graceful_shutdown=5,
        )
    return 0


async def _first_start(settings: Settings, dsn: str) -> None:
    """Print an admin token on a database with none; load the demo into an empty log."""
    pool = await create_pool(dsn, 2)
    try:
        token = await create_first_admin_token(pool)
        if token is not None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            path = settings.data_dir / "admin-token"
            path.write_text(token + "\n")
            path.chmod(0o600)
            # Shown on a terminal only: a log collector must never receive a credential.
            if sys.stderr.isatty():
                err.print(f"first start: admin token [bold]{token}[/bold] (also in {path})")
            else:
                err.print(f"first start: an admin token was written to {path}")
        if settings.demo and not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM events)"):
            report = await _import_file(pool, DEMO_FILE, 500)
            err.print(f"demo data: {report.appended} events from the seed story")
    finally:
        await pool.close()


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    with database(settings) as dsn:
        migrate_sync(dsn)
        err.print("schema is at head")
        password = os.environ.get("ACCORDLOG_APP_DB_PASSWORD")
        if password:
            asyncio.run(enable_app_login(dsn, password))
            err.print("role accordlog_app may log in with ACCORDLOG_APP_DB_PASSWORD")
    return 0


def migrate_if_asked(settings: Settings, dsn: str) -> None:
    """Migrate unless ACCORDLOG_MIGRATE=0 (DATABASE_URL is then a role that cannot migrate)."""
    if settings.migrate:
        migrate_sync(dsn)


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    async def run(dsn: str) -> str:
        pool = await create_pool(dsn, 1)
        try:
            return await create_token(pool, args.scope, args.name)
        finally:
            await pool.close()

    with database(settings) as dsn:
        migrate_if_asked(settings, dsn)
        print(asyncio.run(run(dsn)))
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        err.print(f"[red]no such file:[/red] {args.file}")
        return 2
    return _run_import(settings, args.file, max(1, args.batch_size))


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    return _run_import(settings, DEMO_FILE, 500)


def _run_import(settings: Settings, path: Path, batch_size: int) -> int:
    async def run(dsn: str) -> ImportReport:
        pool = await create_pool(dsn, 2)
        try:
            return await _import_file(pool, path, batch_size)
        finally:
            await pool.close()

    with database(settings) as dsn:
        migrate_if_asked(settings, dsn)
        report = asyncio.run(run(dsn))
    for number, message in report.errors:
        err.print(f"[red]line {number}:[/red] {message}")
    err.print(
        f"{report.appended} appended, {report.skipped} already stored, "
        f"{len(report.errors)} rejected"
    )
    return 1 if report.errors else 0


async def _import_file(pool: Any, path: Path, batch_size: int) -> ImportReport:
    from events.store import EventStore

    total = sum(1 for _ in read_lines(path))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    quiet = not sys.stderr.isatty() or os.environ.get("CI") == "true"
    with Progress(*columns, console=err, disable=quiet) as progress:
        task = progress.add_task(f"importing {path.name}", total=total)
        return await import_lines(
            EventStore(pool),
            read_lines(path),
            batch_size=batch_size,
            progress=lambda n: progress.advance(task, n),
        )


def _project(settings: Settings, _: argparse.Namespace) -> int:
    async def run(dsn: str) -> None:
        pool = await create_pool(dsn, 4)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await Projector(pool, dsn).run(stop)
        finally:
            await pool.close()

    with database(settings) as dsn:
        migrate_if_asked(settings, dsn)
        logs.configure(style=settings.log_format)
        err.print("projector running; Ctrl-C stops it")
        asyncio.run(run(service_dsn(settings, dsn)))
    return 0


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    names = args.names or list(PROJECTIONS)
    unknown = sorted(set(names) - set(PROJECTIONS))
    if unknown:
        err.print(f"[red]no projection {', '.join(unknown)}[/red]; known: {', '.join(PROJECTIONS)}")
        return 2

    async def run(dsn: str) -> None:
        pool = await create_pool(dsn, 4)
        try:
            await ensure_state(pool)
            total = await pool.fetchval("SELECT count(*) FROM events")
            for name in names:
                await _rebuild_one(pool, dsn, name, total)
        finally:
            await pool.close()

    with database(settings) as dsn:
        migrate_if_asked(settings, dsn)
        asyncio.run(run(dsn))
    return 0


async def _rebuild_one(pool: Any, dsn: str, name: str, total: int) -> None:
    """Rebuild here when no projector is active for ``name``; else ask the active one."""
    projector = Projector(pool, dsn, [name])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    quiet = not sys.stderr.isatty() or os.environ.get("CI") == "true"
    with Progress(*columns, console=err, disable=quiet) as progress:
        task = progress.add_task(f"rebuilding {name}", total=total)
        await projector.acquire()
        try:
            if name in projector.active:
                count = await projector.rebuild(name, lambda n: progress.advance(task, n))
                err.print(f"{name}: rebuilt from {count} events")
                return
        finally:
            await projector.release()
        await pool.execute(
            "UPDATE projection_state SET rebuild_requested = true WHERE name = $1", name
        )
        await pool.execute("SELECT pg_notify('accordlog_events', '')")
        err.print(f"{name}: another process runs this projection; it was asked to rebuild")


if __name__ == "__main__":
    sys.exit(main())
