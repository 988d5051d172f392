"""Every error as RFC 9457 problem details: one mapping from exception to problem, one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

from events.envelope import InvalidEvent, MalformedJson
from events.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    UnknownCursor,
    WrongExpectedVersion,
)
from events.rules import DomainRuleViolation

log = logging.getLogger("accordlog.problems")
MEDIA_TYPE = "application/problem+json"

# The database is away (down, restarting, refusing connections, or a connection just died).
# Operator intervention covers 57P01 admin shutdown and 57P03 "cannot connect now".
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    invalid: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemDetailsException:
    """A problem of type ``/problems/{slug}``; ``invalid`` lists (field, reason) pairs."""
    body = dict(extra)
    if invalid:
        body["invalid-params"] = [{"name": name, "reason": reason} for name, reason in invalid]
    return ProblemDetailsException(
        status_code=status,
        type_=f"/problems/{slug}",
        title=HTTPStatus(status).phrase,
        detail=detail,
        headers=dict(headers or {}),
        extra=body,
    )


def invalid_input(pointer: str, reason: str, *, status: int = 422) -> ProblemDetailsException:
    """A request field is wrong: name it and say why."""
    slug = "malformed-json" if status == 400 else "invalid-event"
    return problem(status, slug, f"{pointer}: {reason}", invalid=[(pointer, reason)])


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        pairs = [(str(e.get("key", "request")), str(e.get("message", ""))) for e in exc.extra]
        detail = "; ".join(f"{name}: {reason}" for name, reason in pairs) or str(exc.detail)
        return problem(status, "invalid-parameter", detail, invalid=pairs)
    slug = {
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "body-too-large",
        429: "rate-limited",
    }.get(status, "http-error")
    detail = str(exc.detail)
    if status == 413:
        detail = "the request body is over the size limit (ACCORDLOG_MAX_BODY_BYTES)"
    return problem(status, slug, detail, headers=exc.headers)


def _from_error(exc: Exception) -> ProblemDetailsException:
    match exc:
        case MalformedJson():
            return invalid_input(exc.pointer, exc.reason, status=400)
        case InvalidEvent():
            return invalid_input(exc.pointer, exc.reason)
        case DomainRuleViolation():
            pointer = exc.pointer
            return problem(
                422,
                "domain-rule",
                f"{pointer}: {exc.detail}" if pointer else exc.detail,
                invalid=[(pointer or "$", exc.detail)],
                rule=exc.rule,
            )
        case WrongExpectedVersion():
            return problem(
                412,
                "version-mismatch",
                str(exc),
                stream=exc.stream,
                expected=exc.expected,
                actual=exc.actual,
            )
        case IdempotencyConflict():
            return problem(409, "id-reused", str(exc), event_id=str(exc.event_id))
        case ConcurrencyConflict():
            return problem(409, "concurrency-conflict", str(exc))
        case UnknownCursor():
            return problem(400, "unknown-cursor", str(exc), invalid=[("after", str(exc))])
        case asyncpg.DataError():
            return problem(
                400,
                "invalid-parameter",
                f"a value the database cannot take: {exc}",
                invalid=[("request", str(exc))],
            )
        case _ if isinstance(exc, DATABASE_DOWN):
            return problem(
                503,
                "database-unavailable",
                "the database cannot be reached; retry shortly (retrying an append whose "
                "events carry their own ids is safe: it is stored at most once)",
                headers={"Retry-After": "2"},
            )
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "internal", "an unexpected error; it has been logged")


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Exception handler for litestar's HTTP exceptions."""
    return _from_http(exc).to_response(request)


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Exception handler for everything else."""
    return _from_error(exc).to_response(request)


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    HTTPException: handle_http,
    Exception: handle_error,
}
