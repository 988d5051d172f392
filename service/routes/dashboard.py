"""The dashboard: one page at ``/`` and its files under ``/dashboard/``, served as they are.

The page is plain HTML, CSS and JavaScript modules reading the public API from the browser
(``service/dashboard/``); there is no build step. Its Content-Security-Policy allows this origin
only and nothing inline, so the page runs no script and applies no style it did not load from here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.static_files import create_static_files_router

FILES = Path(__file__).resolve().parent.parent / "dashboard"
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))  # fmt: skip
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Files change with the service, not by name: browsers revalidate (ETag) on every load.
REVALIDATE = CacheControlHeader(no_cache=True)


@cache
def _page() -> bytes:
    return (FILES / "index.html").read_bytes()


@get("/", include_in_schema=False, cache_control=REVALIDATE)
async def dashboard() -> Response[bytes]:
    """The dashboard page."""
    return Response(_page(), media_type=MediaType.HTML, headers=HEADERS)


assets = create_static_files_router(
    path="/dashboard",
    directories=[FILES / "static"],
    name="dashboard",
    include_in_schema=False,
    cache_control=REVALIDATE,
)

ROUTES: list[HTTPRouteHandler | Router] = [dashboard, assets]
