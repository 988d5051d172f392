"""Logging for the long-running commands, with secrets scrubbed from every record.

Nothing here should ever log a credential, but a driver error or a traceback can quote a DSN or a
header. A filter on the handler is the last line: tokens (``acl_``), webhook secrets
(``whsec_``), bearer credentials and passwords inside URLs are replaced before anything is written.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime

import msgspec

# The id of the request being served, set by service.observability.RequestContext.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
FIELDS = ("method", "path", "status", "duration_ms")  # access-log fields passed as ``extra``

SECRETS = re.compile(
    r"(?P<token>\bacl_[A-Za-z0-9_\-]{8,})"
    r"|(?P<whsec>\bwhsec_[A-Za-z0-9+/=]{8,})"
    r"|(?P<bearer>(?i:bearer)\s+)[^\s\"',]+"
    r"|(?P<url>[a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@\s]+@"
)


def scrub(text: str) -> str:
    """``text`` with every credential replaced by a marker naming its kind."""

    def hide(match: re.Match[str]) -> str:
        if match["token"]:
            return "acl_[redacted]"
        if match["whsec"]:
            return "whsec_[redacted]"
        if match["bearer"]:
            return f"{match['bearer']}[redacted]"
        return f"{match['url']}[redacted]@"

    return SECRETS.sub(hide, text)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Scrubbed(logging.Formatter):
    """A formatter whose output (message, arguments and traceback alike) is scrubbed, and whose
    message cannot start a line of its own (a decoded URL path may hold a newline)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return CONTROL.sub(lambda m: repr(m.group())[1:-1], super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return scrub(msgspec.json.encode(entry).decode())


def configure(level: int = logging.INFO, style: str = "auto") -> None:
    """Every record to stderr, scrubbed: ours from ``level``, others' (uvicorn, asyncpg) from
    WARNING. ``style`` is json, text, or auto (text on a terminal, else JSON lines). Run uvicorn
    with ``log_config=None`` to keep this."""
    handler = logging.StreamHandler()
    if style == "json" or (style == "auto" and not sys.stderr.isatty()):
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(Scrubbed("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("accordlog").setLevel(level)
