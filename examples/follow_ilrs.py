"""Follow ILRS membership changes, and pick up where it stopped after a restart.

    pip install httpx httpx-sse      # (both are in the project's dev dependencies)
    python examples/follow_ilrs.py [--base http://127.0.0.1:8000] [--state .ilrs-cursor]

The id of the last change handled is kept in a small file; on start it is sent as
``Last-Event-ID``, so the server replays what was missed, then streams live.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse


def follow(base: str, state: Path) -> None:
    url = f"{base}/v1/projections/memberships/changes/stream?program=ilrs"
    while True:
        headers = {"Last-Event-ID": state.read_text().strip()} if state.exists() else {}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
                connect_sse(client, "GET", url, headers=headers) as source,
            ):
                for sse in source.iter_sse():
                    if sse.event != "change":
                        continue
                    handle(json.loads(sse.data))
                    state.write_text(sse.id)  # only after handling: at-least-once
        except httpx.HTTPError as error:
            print(f"connection lost ({error}); retrying in 2 s")
            time.sleep(2)


def handle(event: dict[str, object]) -> None:
    data = event.get("data") or {}
    members = data.get("members", []) if isinstance(data, dict) else []
    print(f"{event['sequence']:>6} {event['type']}: ILRS has {len(members)} members")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--state", type=Path, default=Path(".ilrs-cursor"))
    arguments = parser.parse_args()
    follow(arguments.base, arguments.state)
