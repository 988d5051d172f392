"""Bearer tokens with scopes, stored as SHA-256 hashes; guards for litestar routes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from service.limits import retry_after
from service.problems import problem

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
# A scope grants the ones below it: admin can write and read, write can read.
_IMPLIED: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
TOKEN_PREFIX = "acl_"
CACHE_SECONDS = 10.0


def hash_token(token: str) -> bytes:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe one-way store."""
    return hashlib.sha256(token.encode()).digest()


async def create_token(
    connection: asyncpg.Connection | asyncpg.Pool, scopes: Iterable[Scope], name: str
) -> str:
    """Store a new token's hash and return the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await connection.execute(
        "INSERT INTO api_tokens (id, name, scopes, token_hash) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        name,
        sorted(set(scopes)),
        hash_token(token),
    )
    return token


async def create_first_admin_token(pool: asyncpg.Pool) -> str | None:
    """On a database with no tokens at all, create one admin token; otherwise None."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE")
        if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM api_tokens)"):
            return None
        return await create_token(connection, ["admin"], "first admin token")


@dataclass(slots=True)
class TokenCache:
    """Resolves tokens to their granted scopes, remembering answers for a few seconds."""

    pool: asyncpg.Pool
    _seen: dict[bytes, tuple[float, frozenset[str]]]

    @classmethod
    def over(cls, pool: asyncpg.Pool) -> TokenCache:
        return cls(pool, {})

    async def granted(self, token: str) -> frozenset[str] | None:
        """The scopes a token grants, or None for an unknown or revoked token."""
        digest = hash_token(token)
        hit = self._seen.get(digest)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        scopes = await self.pool.fetchval(
            "SELECT scopes FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", digest
        )
        if scopes is None:
            return None
        granted = frozenset().union(*(_IMPLIED.get(s, frozenset()) for s in scopes))
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[digest] = (now, granted)
        return granted


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def require(scope: Scope) -> Any:
    """A litestar guard: 401 without a valid bearer token, 403 without ``scope``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        state = connection.app.state
        if scope == "read" and not state.settings.read_token_required:
            return
        header = connection.headers.get("authorization", "")
        kind, _sep, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
            )
        granted = await state.tokens.granted(token.strip())
        if granted is None:
            raise NotAuthorizedException(
                "the bearer token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if scope not in granted:
            raise PermissionDeniedException(f"this route needs a token with scope {scope!r}")
        if connection.scope.get("method") in _READS:
            return
        if wait := state.write_limiter.wait(hash_token(token.strip())):
            raise problem(
                429,
                "rate-limited",
                f"this token may write {state.settings.write_rate:g} times a second "
                f"(bursts of {state.settings.write_burst:g}); retry after the wait",
                headers={"Retry-After": retry_after(wait)},
            )

    guard.__name__ = f"require_{scope}"
    return guard
