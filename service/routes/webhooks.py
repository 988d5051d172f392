"""Webhook registration and delivery history."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter, QueryParameter

from service.auth import require
from service.openapi import problem_responses
from service.problems import problem
from service.routes.options import options_for
from service.routes.streams import FILTERS
from service.webhooks import UnsafeTarget, check_target

Projection = Literal[
    "programs", "memberships", "leases", "missions", "agreements", "organizations", "parties"
]
Secret = Annotated[str, msgspec.Meta(pattern=r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$", max_length=200)]
Url = Annotated[
    str, msgspec.Meta(min_length=8, max_length=2_000, examples=["https://example.org/accordlog"])
]
FilterValue = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class WebhookIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: Url
    projection: Projection
    filter: dict[FilterValue, FilterValue] | None = None
    secret: Secret | None = None


class WebhookOut(msgspec.Struct, frozen=True):
    id: UUID
    url: str
    projection: str
    filter: dict[str, str]
    status: str
    created_at: datetime
    secret: str | None = None


class Delivery(msgspec.Struct, frozen=True):
    id: UUID
    seq: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(msgspec.Struct, frozen=True):
    webhook: UUID
    deliveries: list[Delivery]


WRITE = [require("write")]
# The write limit (429) is for changes only: reads with a write token are not counted.
READ_ERRORS = problem_responses(400, 401, 403, 404)
CHANGE_ERRORS = problem_responses(400, 401, 403, 404, 429)
_COLUMNS = "id, url, projection, filter, status, created_at"


@post(
    "/v1/webhooks",
    guards=WRITE,
    responses=problem_responses(400, 401, 403, 413, 422, 429, body=True),
    summary="Subscribe a URL to a projection's changes",
)
async def create_webhook(
    request: Request[Any, Any, State], data: JSONBody[WebhookIn]
) -> Response[WebhookOut]:
    """Deliveries start with the next change; the secret is shown only in this response."""
    unknown = set(data.filter or {}) - set(FILTERS)
    if unknown:
        reason = f"unknown filter {', '.join(sorted(unknown))}; known: {', '.join(FILTERS)}"
        raise problem(422, "invalid-webhook", f"filter: {reason}", invalid=[("filter", reason)])
    try:
        await check_target(data.url, request.app.state.settings.webhooks_allow_private)
    except UnsafeTarget as error:
        raise problem(422, "invalid-webhook", str(error), invalid=[("url", str(error))]) from None
    secret = data.secret or "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(
        f"""INSERT INTO webhooks (id, url, projection, filter, secret, cursor_seq)
            VALUES ($1, $2, $3, $4, $5,
                    COALESCE((SELECT change_seq FROM projection_state WHERE name = $3), 0))
            RETURNING {_COLUMNS}""",
        uuid.uuid4(), data.url, data.projection, data.filter or {}, secret,
    )  # fmt: skip
    return Response(_out(row, secret), status_code=201)


@get(
    "/v1/webhooks/{webhook_id:uuid}",
    guards=WRITE,
    responses=READ_ERRORS,
    summary="One webhook (without its secret)",
)
async def get_webhook(
    request: Request[Any, Any, State], webhook_id: Annotated[UUID, PathParameter()]
) -> WebhookOut:
    """The webhook's target, projection, filter and status."""
    row = await request.app.state.pool.fetchrow(
        f"SELECT {_COLUMNS} FROM webhooks WHERE id = $1", webhook_id
    )
    if row is None:
        raise problem(404, "not-found", f"no webhook {webhook_id}")
    return _out(row, None)


@delete(
    "/v1/webhooks/{webhook_id:uuid}", guards=WRITE, responses=CHANGE_ERRORS, summary="Unsubscribe"
)
async def delete_webhook(
    request: Request[Any, Any, State], webhook_id: Annotated[UUID, PathParameter()]
) -> None:
    """Removes the webhook and its pending deliveries."""
    result = await request.app.state.pool.execute("DELETE FROM webhooks WHERE id = $1", webhook_id)
    if result == "DELETE 0":
        raise problem(404, "not-found", f"no webhook {webhook_id}")


@get(
    "/v1/webhooks/{webhook_id:uuid}/deliveries",
    guards=WRITE,
    responses=READ_ERRORS,
    summary="Delivery history",
)
async def list_deliveries(
    request: Request[Any, Any, State],
    webhook_id: Annotated[UUID, PathParameter()],
    status: Annotated[
        Literal["pending", "delivered", "dead", "disabled"] | None, QueryParameter()
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1_000)] = 100,
) -> DeliveryList:
    """Newest first: status, attempts, last HTTP status or error, next attempt."""
    rows = await request.app.state.pool.fetch(
        """SELECT id, seq, status, attempts, next_attempt_at, last_status, last_error, created_at,
                  delivered_at
           FROM webhook_deliveries WHERE webhook_id = $1 AND ($2::text IS NULL OR status = $2)
           ORDER BY seq DESC LIMIT $3""",
        webhook_id, status, limit,
    )  # fmt: skip
    return DeliveryList(webhook_id, [Delivery(*row.values()) for row in rows])


@post(
    "/v1/webhooks/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
    status_code=202,
    guards=WRITE,
    responses=CHANGE_ERRORS,
    summary="Send a delivery again (same webhook-id)",
)
async def redeliver(
    request: Request[Any, Any, State],
    webhook_id: Annotated[UUID, PathParameter()],
    delivery_id: Annotated[UUID, PathParameter()],
) -> dict[str, str]:
    """Puts a delivered, dead or disabled delivery back in the queue, due now."""
    result = await request.app.state.pool.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() "
        "WHERE id = $1 AND webhook_id = $2",
        delivery_id, webhook_id,
    )  # fmt: skip
    if result == "UPDATE 0":
        raise problem(404, "not-found", f"no delivery {delivery_id} of webhook {webhook_id}")
    return {"delivery": str(delivery_id), "status": "pending"}


def _out(row: Any, secret: str | None) -> WebhookOut:
    return WebhookOut(
        id=row["id"], url=row["url"], projection=row["projection"],
        filter=msgspec.json.decode(row["filter"]), status=row["status"],
        created_at=row["created_at"], secret=secret,
    )  # fmt: skip


# The OPTIONS handler first: see service.routes.options.
ROUTES = [
    options_for("/v1/webhooks/{webhook_id:uuid}"),
    create_webhook, get_webhook, delete_webhook, list_deliveries, redeliver,
]  # fmt: skip
