"""One typed settings object, read once from the environment; errors name the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str | None = None
    app_database_url: str | None = None
    migrate: bool = True
    log_format: str = "auto"
    read_database_url: str | None = None  # a streaming replica for projection reads
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".accordlog")
    demo: bool = True
    max_batch: int = 1_000
    max_body_bytes: int = 4 * 1024 * 1024
    read_token_required: bool = False
    pool_size: int = 10
    run_projector: bool = True
    min_position_wait: float = 5.0
    webhooks_allow_private: bool = False
    run_webhook_worker: bool = True
    sse_keep_alive: float = 15.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 1.0
    write_rate: float = 100.0  # writes a second per token; 0 turns the limit off
    write_burst: float = 200.0
    request_timeout: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``)."""
        source = dict(os.environ if env is None else env)
        default = cls()
        return cls(
            database_url=source.get("DATABASE_URL") or None,
            app_database_url=source.get("ACCORDLOG_APP_DATABASE_URL") or None,
            migrate=_bool(source, "ACCORDLOG_MIGRATE", True),
            log_format=_choice(source, "ACCORDLOG_LOG_FORMAT", "auto", ("auto", "json", "text")),
            read_database_url=_postgres_url(source, "READ_DATABASE_URL"),
            host=source.get("ACCORDLOG_HOST", default.host),
            port=_int(source, "ACCORDLOG_PORT", default.port, 1, 65_535),
            data_dir=Path(source.get("ACCORDLOG_DATA_DIR", str(default.data_dir))),
            demo=_bool(source, "ACCORDLOG_DEMO", default.demo),
            max_batch=_int(source, "ACCORDLOG_MAX_BATCH", default.max_batch, 1, 100_000),
            max_body_bytes=_int(
                source, "ACCORDLOG_MAX_BODY_BYTES", default.max_body_bytes, 1, 2**30
            ),
            read_token_required=_bool(source, "ACCORDLOG_READ_TOKEN_REQUIRED", False),
            pool_size=_int(source, "ACCORDLOG_POOL_SIZE", default.pool_size, 1, 1_000),
            run_projector=_bool(source, "ACCORDLOG_PROJECTOR", default.run_projector),
            min_position_wait=_int(source, "ACCORDLOG_MIN_POSITION_WAIT_MS", 5_000, 0, 60_000)
            / 1000,
            webhooks_allow_private=_bool(source, "ACCORDLOG_WEBHOOKS_ALLOW_PRIVATE", False),
            run_webhook_worker=_bool(source, "ACCORDLOG_WEBHOOK_WORKER", True),
            sse_keep_alive=_int(source, "ACCORDLOG_SSE_KEEPALIVE_MS", 15_000, 100, 600_000) / 1000,
            webhook_max_attempts=_int(source, "ACCORDLOG_WEBHOOK_MAX_ATTEMPTS", 8, 1, 100),
            webhook_backoff_seconds=_int(
                source, "ACCORDLOG_WEBHOOK_BACKOFF_MS", 1_000, 1, 3_600_000
            )
            / 1000,
            write_rate=_int(source, "ACCORDLOG_WRITE_RATE", 100, 0, 1_000_000),
            write_burst=_int(source, "ACCORDLOG_WRITE_BURST", 200, 1, 1_000_000),
            request_timeout=_int(source, "ACCORDLOG_REQUEST_TIMEOUT_MS", 30_000, 100, 3_600_000)
            / 1000,
        )


def _postgres_url(env: dict[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(("postgresql://", "postgres://")):
        # The value is not echoed: it may hold a password.
        raise SettingsError(f"{name} must be a URL like postgresql://user@host:5432/database")
    return raw


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _choice(env: dict[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false (1/0), not {raw!r}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
