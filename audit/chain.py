"""The tamper-evident chain over the audit log.

Each event is sealed with `hash = sha256(previous event's hash + its own content)` and a place
in the chain (`seq`), so changing or removing any sealed event breaks every link after it.

Events are sealed just after the transaction that recorded them commits, not inside it: a
chain needs one writer at a time, and holding a global lock from `record()` until commit would
deadlock with the row locks that services take after recording (publishing marks the other
open change requests conflicted while an edit of one of them waits to record its own event).
Sealing after commit holds the lock only for the few rows being sealed and waits on nothing
else.

`record()` seals only the events it recorded itself, never "whatever is waiting": a row that
was written into the table behind the application's back (a forged, backdated event) must not
be sealed into the chain and so vouched for. An event left unsealed, whether the process died
between commit and seal or nobody recorded it through `record()`, is named by
`manage.py verify_audit` as a problem, and sealed only when an operator who has looked at it
runs `verify_audit --seal-pending`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent

# Any fixed number works; it only has to be the same for every process sealing this database.
CHAIN_LOCK = 0x61756474  # "audt"
SEAL_BATCH = 500
# How long an event may wait for its seal before verify_audit calls it a problem: sealing
# follows the commit within milliseconds, so a minute leaves room for a slow server.
SEAL_GRACE = datetime.timedelta(minutes=1)


def content_of(event: AuditEvent) -> str:
    """The event as canonical JSON: what its hash covers, in a form that survives a round-trip
    through the database (UTC with microseconds; jsonb reorders keys, so keys are sorted)."""
    at = event.at.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    return json.dumps(
        {
            "id": event.pk,
            "seq": event.seq,
            "at": at,
            "actor_id": event.actor_id,
            "actor_name": event.actor_name,
            "action": event.action,
            "namespace": event.namespace,
            "config": event.config,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "target_repr": event.target_repr,
            "reason": event.reason,
            "details": event.details,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + content_of(event)).encode()).hexdigest()


def seal_pending_events(*, ids: Iterable[int]) -> list[AuditEvent]:
    """Chain the events `ids` that are not sealed yet, in id order; returns those it sealed."""
    ids = sorted(set(ids))
    sealed: list[AuditEvent] = []
    if not ids:
        return sealed
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One sealer at a time, so two cannot both chain onto the same predecessor. SQLite
            # serializes writers by itself.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        head = (
            AuditEvent.objects.filter(seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        seq, prev_hash = head or (0, "")
        for start in range(0, len(ids), SEAL_BATCH):
            # Read under the lock: an id another sealer already chained is left as it is.
            pending = AuditEvent.objects.filter(
                pk__in=ids[start : start + SEAL_BATCH], seq__isnull=True
            )
            for event in list(pending.order_by("id")):
                seq += 1
                event.seq = seq
                event.prev_hash = prev_hash
                event.hash = event_hash(event, prev_hash)
                AuditEvent.objects.filter(pk=event.pk).update(
                    seq=event.seq, prev_hash=event.prev_hash, hash=event.hash
                )
                prev_hash = event.hash
                sealed.append(event)
    return sealed


def unsealed_events(*, now: datetime.datetime | None = None) -> QuerySet[AuditEvent]:
    """Events that should have been sealed by now and were not, oldest first.

    An event recorded within SEAL_GRACE of `now` is still on its way to its seal; one dated
    further in the future is not, so it is counted here too rather than hidden until then.
    """
    now = now or timezone.now()
    in_flight = Q(at__gt=now - SEAL_GRACE, at__lt=now + SEAL_GRACE)
    return AuditEvent.objects.filter(seq__isnull=True).exclude(in_flight).order_by("id")


@dataclass
class Verdict:
    checked: int
    head: str = ""
    broken: AuditEvent | None = None
    problem: str = ""


def verify_chain(chunk_size: int = 2000) -> Verdict:
    """Walk the sealed events in chain order; stop at the first one that does not check out."""
    prev_hash = ""
    checked = 0
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for event in events.iterator(chunk_size=chunk_size):
        if event.seq != checked + 1 or event.prev_hash != prev_hash:
            return Verdict(
                checked,
                prev_hash,
                event,
                "it does not follow the event before it: an event was removed or reordered",
            )
        if event_hash(event, prev_hash) != event.hash:
            return Verdict(checked, prev_hash, event, "its content was changed after it was sealed")
        prev_hash = event.hash
        checked += 1
    return Verdict(checked, prev_hash)
