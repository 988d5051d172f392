"""Bulk import of JSON Lines wire events: batched, re-runnable, bad lines reported by number."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from events.envelope import InvalidEvent, NewEvent, parse_batch
from events.errors import StoreError
from events.store import EventStore

# Lines without an id get one derived from their content, so a re-run skips them too.
IMPORT_NAMESPACE = uuid.UUID("6f1d1f1e-6b8a-4c8e-9a51-acc0a1d10000")


@dataclass(slots=True)
class ImportReport:
    """What an import did, line by line where it matters."""

    appended: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines of a JSON Lines file with their 1-based numbers."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


async def import_lines(
    store: EventStore,
    lines: Iterable[tuple[int, bytes]],
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Append the lines in batches; a failing batch is retried line by line to find the culprit."""
    report = ImportReport()
    today = datetime.now(UTC).date()
    batch: list[tuple[int, NewEvent]] = []
    for number, line in lines:
        try:
            new = parse_batch(line, max_batch=1, today=today)[0]
        except InvalidEvent as error:
            report.errors.append((number, str(error)))
            progress(1)
            continue
        batch.append((number, _with_stable_id(new, line)))
        if len(batch) >= batch_size:
            await _flush(store, batch, report, progress)
            batch = []
    if batch:
        await _flush(store, batch, report, progress)
    return report


def _with_stable_id(new: NewEvent, line: bytes) -> NewEvent:
    if b'"id"' in line:
        return new
    return replace(new, id=uuid.uuid5(IMPORT_NAMESPACE, new.digest.hex()))


async def _flush(
    store: EventStore,
    batch: list[tuple[int, NewEvent]],
    report: ImportReport,
    progress: Callable[[int], None],
) -> None:
    stored = await store.existing_ids([new.id for _, new in batch])
    fresh = [(n, new) for n, new in batch if new.id not in stored]
    report.skipped += len(batch) - len(fresh)
    progress(len(batch) - len(fresh))
    if not fresh:
        return
    try:
        await store.append([new for _, new in fresh])
        report.appended += len(fresh)
        progress(len(fresh))
        return
    except StoreError:
        pass
    for number, new in fresh:
        try:
            result = await store.append([new])
            report.appended += int(result.created)
            report.skipped += int(not result.created)
        except StoreError as error:
            report.errors.append((number, _describe(error)))
        progress(1)


def _describe(error: StoreError) -> str:
    pointer = getattr(error, "pointer", "")
    return f"{pointer}: {error}" if pointer else str(error)
