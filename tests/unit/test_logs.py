"""Credentials never reach a log line, whatever the message or traceback quotes."""

from __future__ import annotations

import logging

from service.logs import Scrubbed, scrub

TOKEN = "acl_Zx9v0dQ3tT1nq8mW2eRkYpLs4AbC"
SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def test_scrub_hides_tokens_secrets_bearers_and_url_passwords() -> None:
    line = scrub(
        f"token {TOKEN} secret {SECRET} header 'Authorization: Bearer abc.def' "
        "dsn postgresql://app:s3cr%40t@db:5432/accordlog"
    )
    for leaked in (TOKEN, SECRET, "abc.def", "s3cr%40t"):
        assert leaked not in line
    assert "postgresql://app:[redacted]@db:5432/accordlog" in line
    assert "acl_[redacted]" in line and "whsec_[redacted]" in line


def test_ordinary_text_is_untouched() -> None:
    text = "projector: active for programs at position 42 (http://127.0.0.1:8000/v1/events)"
    assert scrub(text) == text


def test_the_formatter_scrubs_arguments_and_tracebacks() -> None:
    try:
        raise ValueError(f"refused {TOKEN}")
    except ValueError as error:
        record = logging.LogRecord(
            "accordlog.test", logging.ERROR, __file__, 1, "sent %s", (SECRET,), (
                type(error), error, error.__traceback__)
        )  # fmt: skip
    line = Scrubbed("%(message)s").format(record)
    assert TOKEN not in line and SECRET not in line
    assert "ValueError" in line
