"""The composition root: ``create_app(settings)`` wires the store, auth and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin
from litestar.plugins.prometheus import PrometheusConfig

from events.store import EventStore
from projections.projector import Projector
from projections.store import ensure_state
from service.auth import TokenCache
from service.database import create_pool, migrate
from service.limits import RequestDeadline, WriteLimiter
from service.notifier import ChangeNotifier
from service.observability import RequestContext
from service.problems import EXCEPTION_HANDLERS
from service.routes import dashboard, events, metrics, ops, projections, streams, views, webhooks
from service.settings import Settings
from service.webhooks import WebhookWorker

log = logging.getLogger("accordlog.app")


def create_app(
    settings: Settings,
    *,
    dsn: str | None = None,
    app_dsn: str | None = None,
    run_migrations: bool = True,
) -> Litestar:
    """Build the application.

    ``dsn`` (default ``settings.database_url``) is the schema owner's, used only to migrate.
    Everything else connects through ``app_dsn`` (default ``settings.app_database_url``, else
    ``dsn``), meant to be the ``accordlog_app`` role that cannot alter or delete events.
    """
    owner = dsn or settings.database_url
    if owner is None:
        raise ValueError("create_app needs a DSN: set DATABASE_URL or pass dsn")
    database = app_dsn or settings.app_database_url or owner

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if run_migrations:
            await migrate(owner)
        async with contextlib.AsyncExitStack() as resources:  # released in reverse, always
            pool = await create_pool(database, settings.pool_size)
            resources.push_async_callback(pool.close)
            # Projection reads may go to a streaming replica (READ_DATABASE_URL); all else here.
            read_pool = pool
            if settings.read_database_url:
                read_pool = await create_pool(settings.read_database_url, settings.pool_size)
                resources.push_async_callback(read_pool.close)
            app.state.pool, app.state.read_pool = pool, read_pool
            app.state.store = EventStore(pool)
            app.state.tokens = TokenCache.over(pool)
            await ensure_state(pool)
            app.state.notifier = ChangeNotifier(database)
            await app.state.notifier.start()
            resources.push_async_callback(app.state.notifier.stop)
            stop = asyncio.Event()
            app.state.projector_task = app.state.webhook_task = None
            if settings.run_projector:
                app.state.projector_task = _supervised(
                    "projector", Projector(pool, database).run(stop)
                )
            if settings.run_webhook_worker:
                app.state.webhook_task = _supervised(
                    "webhook worker", WebhookWorker(pool, settings, app.state.notifier).run(stop)
                )
            resources.push_async_callback(
                _wind_down, stop, [app.state.projector_task, app.state.webhook_task]
            )
            yield

    app = Litestar(
        route_handlers=[
            *events.ROUTES,
            *views.ROUTES,
            *projections.ROUTES,
            *streams.ROUTES,
            *webhooks.ROUTES,
            *ops.ROUTES,
            *metrics.ROUTES,
            *dashboard.ROUTES,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "write_limiter": WriteLimiter(settings.write_rate, settings.write_burst),
            }
        ),
        middleware=[
            # Outermost first. Plain ASGI middleware, which litestar's ASGI TypedDicts do not
            # describe: hence Any.
            REQUEST_METRICS.middleware,
            DefineMiddleware(
                cast(Any, RequestDeadline), seconds=settings.request_timeout, exempt=_is_stream
            ),
        ],
        plugins=[ProblemDetailsPlugin(ProblemDetailsConfig())],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        cors_config=None,  # closed by default: no cross-origin browser access
        logging_config=None,  # logging is service.logs' (scrubbed, JSON lines), not litestar's
        openapi_config=OpenAPIConfig(
            title="accordlog",
            version="1.0.0",
            description="Event-sourced history of international space-cooperation agreements.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
    )
    # Around everything, not per route: 404s, 405s and refusals get a request id and a log line.
    app.asgi_handler = cast(Any, RequestContext(cast(Any, app.asgi_handler)))
    return app


# Request count, duration and errors by route template (grouped paths), not by raw URL.
REQUEST_METRICS = PrometheusConfig(
    app_name="accordlog", prefix="accordlog", group_path=True, exclude=["^/metrics$"]
)


def _supervised(name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A background task whose death is logged at once (and reported by /readyz)."""

    def report(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s stopped: %r", name, error, exc_info=error)

    task = asyncio.create_task(work, name=name)
    task.add_done_callback(report)
    return task


async def _wind_down(stop: asyncio.Event, tasks: list[asyncio.Task[None] | None]) -> None:
    """Ask the background tasks to stop; cancel any that will not within ten seconds."""
    stop.set()
    for task in tasks:
        if task is None or task.done():
            continue
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            log.error("%s did not stop within 10 s; cancelled", task.get_name())
        except Exception:  # already logged by its done callback
            pass


def _is_stream(path: str) -> bool:
    """Server-Sent Event streams are meant to stay open: no request deadline."""
    return path.endswith("/changes/stream")
