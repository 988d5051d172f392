"""Logging for the long-running commands, with secrets scrubbed from every record.

Nothing here should ever log a credential, but a driver error or a traceback can quote a DSN or a
header. A filter on the handler is the last line: tokens (``acl_``), webhook secrets
(``whsec_``), bearer credentials and passwords inside URLs are replaced before anything is written.
"""

from __future__ import annotations

import logging
import re

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


class Scrubbed(logging.Formatter):
    """A formatter whose output (message, arguments and traceback alike) is scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure(level: int = logging.INFO) -> None:
    """Every record to stderr through the scrubbing formatter: ours from ``level``, others'
    (uvicorn, asyncpg) from WARNING. Run uvicorn with ``log_config=None`` to keep this."""
    handler = logging.StreamHandler()
    handler.setFormatter(Scrubbed("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("accordlog").setLevel(level)
