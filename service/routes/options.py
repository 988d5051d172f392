"""OPTIONS for a path that several handlers share.

Litestar 2 answers OPTIONS with the methods of the first handler registered for a path only
(litestar-org/litestar#4169, fixed in 3). A handler from ``options_for`` must be registered
before the others of its path, so litestar adds none of its own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_204_NO_CONTENT


def options_for(path: str) -> HTTPRouteHandler:
    """An OPTIONS handler for ``path`` whose ``Allow`` lists every method the path serves."""

    @route(path, http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def allow(request: Request[Any, Any, Any]) -> Response[None]:
        methods = {m for r in request.app.routes if r.path == path for m in r.methods}
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": ", ".join(sorted(methods))}
        )

    return allow
