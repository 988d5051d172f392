"""``accordlog serve`` on an embedded PostgreSQL, as a new user starts it, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited early"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become ready")


def postgres_running(pgdata: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            return True
    return False


def test_serve_embedded_demo_post_and_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"ACCORDLOG_PORT": str(port), "ACCORDLOG_DATA_DIR": str(tmp_path / "data"), "CI": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    pgdata = (tmp_path / "data" / "pgdata").resolve()
    try:
        wait_ready(base, process)
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        ilrs = httpx.get(f"{base}/v1/streams/program-ilrs").json()
        assert "KZ" in {e["data"].get("party") for e in ilrs["events"]}
        event = {
            "type": "program.established",
            "effective": "2024",
            "data": {"program": "e2e", "name": "End to end"},
        }
        posted = httpx.post(
            f"{base}/v1/events", json=event, headers={"Authorization": f"Bearer {token}"}
        )
        assert posted.status_code == 201
        assert postgres_running(pgdata)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, stderr  # a clean stop on SIGTERM
    assert str(pgdata) in stderr  # the data directory is printed at start
    assert "admin token" in stderr
    assert not postgres_running(pgdata)
