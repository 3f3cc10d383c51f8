"""The filtered audit log as CSV or JSON Lines, streamed in chunks of whole rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

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


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    return _batched(_csv_lines(events))


def jsonl_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    return _batched(_jsonl_lines(events))


def _csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in events.iterator(chunk_size=CHUNK):
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
    for event in events.iterator(chunk_size=CHUNK):
        yield json.dumps(as_dict(event), ensure_ascii=False) + "\n"
