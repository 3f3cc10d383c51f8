"""The filtered audit log as CSV or JSON Lines, streamed in chunks of whole rows."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable, Iterator

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from audit.models import AuditEvent

CHUNK = 2000
# Rows are sent in pieces of about this many characters: one write per row would be 100,000
# tiny writes for a large export, and the whole export at once would sit in memory.
SEND_SIZE = 64 * 1024
COLUMNS = [
    "id",
    "at",
    "actor",
    "action",
    "namespace",
    "config",
    "target_type",
    "target_id",
    "target",
    "reason",
    "details",
    "hash",
]


def as_dict(event: AuditEvent) -> dict:
    """One event as the audit API shows it (plus its id and chain hash)."""
    return {
        "id": event.pk,
        "at": event.at.isoformat(),
        "actor": event.actor_name or None,
        "action": event.action,
        "namespace": event.namespace,
        "config": event.config,
        "target": {"type": event.target_type, "id": event.target_id, "repr": event.target_repr},
        "reason": event.reason,
        "details": event.details,
        "hash": event.hash,
    }


class _Echo:
    """csv.writer writes to this and gets the line back, so nothing accumulates."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell starting with one of these as a formula; reasons and names are
    # typed by people, so they are quoted to stay text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _batched(rows: Iterable[str], size: int = SEND_SIZE) -> Iterator[str]:
    """The rows, in order, joined into pieces of at least `size` characters (but the last)."""
    batch: list[str] = []
    length = 0
    for row in rows:
        batch.append(row)
        length += len(row)
        if length >= size:
            yield "".join(batch)
            batch, length = [], 0
    if batch:
        yield "".join(batch)


def in_chunks(events: QuerySet[AuditEvent], size: int | None = None) -> Iterator[AuditEvent]:
    """Every event of `events` (newest first), read CHUNK at a time, each chunk by its own short
    query that starts after the last event sent (keyset, on the log's time index).

    Not one cursor over the whole log: a million events would make one statement run past the
    database's statement timeout, and a cursor held across commits is read whole first."""
    size = size or CHUNK
    events = events.order_by("-at", "-id")
    chunk = list(events[:size])
    while chunk:
        yield from chunk
        if len(chunk) < size:
            return
        last = chunk[-1]
        older = events.filter(at__lte=last.at).exclude(at=last.at, pk__gte=last.pk)
        chunk = list(older[:size])


async def one_by_one(pieces: Iterator[str]) -> AsyncIterator[str]:
    """The pieces for an ASGI server, each read (from the database) in Django's sync thread."""
    step = sync_to_async(next)
    while (piece := await step(pieces, None)) is not None:
        yield piece


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    return _batched(_csv_lines(events))


def jsonl_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    return _batched(_jsonl_lines(events))


def _csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in in_chunks(events):
        details = json.dumps(event.details, ensure_ascii=False, sort_keys=True)
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    event.pk,
                    event.at.isoformat(),
                    event.actor_name,
                    event.action,
                    event.namespace,
                    event.config,
                    event.target_type,
                    event.target_id,
                    event.target_repr,
                    event.reason,
                    details,
                    event.hash,
                )
            ]
        )


def _jsonl_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    for event in in_chunks(events):
        yield json.dumps(as_dict(event), ensure_ascii=False) + "\n"
