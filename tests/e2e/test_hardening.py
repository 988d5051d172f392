"""A real server process on a fresh database: slow clients, cross-origin callers, and its logs.

Given a first start (which creates an admin token) and a session of authorised, refused and
slow requests carrying tokens and webhook secrets, then a client that stops sending its body
gets 408 within the deadline, no response opens the API to other origins, and nothing the
process wrote to stderr contains a token or a secret.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database
from tests.e2e.test_serve import free_port, wait_ready
from tests.factories import established

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
FORGED = "acl_forgedForgedForgedForgedForged"


@pytest.fixture
def first_start_dsn(server_dsn: str) -> Iterator[str]:
    yield from fresh_database(server_dsn)


def slow_body(port: int, token: str) -> tuple[bytes, float]:
    """Send headers and one byte of a 100-byte body, then wait for the server's answer."""
    head = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = connection.recv(4096)
    return answer, time.monotonic() - began


def test_slow_bodies_cors_and_logs(first_start_dsn: str, tmp_path: Path, slug: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": first_start_dsn, "ACCORDLOG_PORT": str(port),
           "ACCORDLOG_DATA_DIR": str(tmp_path), "ACCORDLOG_DEMO": "0",
           "ACCORDLOG_REQUEST_TIMEOUT_MS": "1000", "CI": "true"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_ready(base, process)
        token = (tmp_path / "admin-token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}

        answer, seconds = slow_body(port, token)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"application/problem+json" in answer and 0.9 < seconds < 5

        with httpx.Client(base_url=base, timeout=10) as client:
            assert (
                client.post("/v1/events", headers=auth, json=established(slug)).status_code == 201
            )
            forged = client.post("/v1/events", headers={"Authorization": f"Bearer {FORGED}"},
                                 json=established(slug))  # fmt: skip
            assert forged.status_code == 401
            hook = {"url": "http://127.0.0.1:9/hook", "projection": "programs", "secret": SECRET}
            assert client.post("/v1/webhooks", headers=auth, json=hook).status_code == 422
            origin = {"Origin": "https://elsewhere.example"}
            preflight = client.options(
                "/v1/events", headers={**origin, "Access-Control-Request-Method": "POST"}
            )
            simple = client.get("/v1/programs", headers=origin)
        for response in (preflight, simple):
            assert not any(h.lower().startswith("access-control-") for h in response.headers)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "admin token" in stderr and str(tmp_path / "admin-token") in stderr
    for secret in (token, FORGED, SECRET, "acl_", "whsec_"):
        assert secret not in stderr
    # Logs are JSON lines (stderr is not a terminal), each request with its id.
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "accordlog.access"]
    assert {(e["method"], e["path"], e["status"]) for e in access} >= {
        ("POST", "/v1/events", 201),
        ("POST", "/v1/events", 401),
        ("GET", "/v1/programs", 200),
    }
    assert all(len(e["request_id"]) >= 16 for e in access)
