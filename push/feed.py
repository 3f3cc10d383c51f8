"""The change feed: every publish, cancel and scheduled version reaching its time, in order.

Each change is a `ChangeEvent` row written in the transaction that makes the change, so it
exists exactly when the change does. Writers take one lock for the rest of their transaction
(a PostgreSQL advisory lock; SQLite has one writer anyway), so event ids increase in commit
order and a listener that resumes after id N misses nothing.

Every app server hears the events through PostgreSQL LISTEN/NOTIFY: the NOTIFY is sent in the
same transaction, so it is delivered at commit or never. One thread per process (`Feed`)
listens, sends itself a heartbeat four times a second, and hands each event to this process's
subscribers (the watch streams, the in-memory read caches). On SQLite, which cannot notify, the
thread polls the event table instead and events of this process are handed over at commit;
such a feed is never "healthy", so reads there always ask the database.

Scheduled versions need no job runner: the same thread knows the next effective time and, when
it comes, writes the `live` event (once: a unique constraint lets only the first server's write
through).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, close_old_connections, connection, connections, transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from common.after_commit import after_commit
from common.bulk import insert_all
from configs import environments
from configs.models import Config, Version
from push.models import ChangeEvent

logger = logging.getLogger(__name__)

CHANNEL = "config_console_feed"
# Any 64-bit number the project does not use for another advisory lock.
WRITERS_LOCK = 0x636F6E666967
HEARTBEAT_EVERY = 0.25  # seconds between heartbeats the listener sends itself
HEALTHY_WITHIN = 1.0  # a feed whose last heartbeat is older than this is not trusted
POLL_EVERY = 0.5  # seconds between polls of the event table where there is no NOTIFY

Subscriber = Callable[[dict], None]


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _announce(*messages: dict) -> None:
    """Tell every server about `messages`, in order, once the current transaction commits."""
    if _postgresql():
        with connection.cursor() as cursor:
            # One statement for the thousands of events of a bulk publish, sent as one text of
            # one message a line (JSON never holds a raw newline): quoting a list of thousands
            # of strings on the client took most of a second. PostgreSQL delivers a
            # transaction's notifications in the order they were sent.
            cursor.execute(
                "SELECT pg_notify(%s, message) FROM unnest(string_to_array(%s, E'\\n')) "
                "WITH ORDINALITY AS sent(message, n) ORDER BY n",
                [CHANNEL, "\n".join(json.dumps(message) for message in messages)],
            )
    else:
        after_commit(
            lambda: [feed.dispatch(message) for message in messages],
            what="Handing this process's changes to its feed subscribers",
        )


def _lock_writers() -> None:
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITERS_LOCK])


def _record(events: list[ChangeEvent], *, scheduled_reached: bool = False) -> list[ChangeEvent]:
    """Write `events` with their webhook deliveries, and announce them, in a few statements
    however many there are (a schema change publishes thousands of versions at once)."""
    from push import deliveries

    with transaction.atomic():
        _lock_writers()
        events = insert_all(events)
        deliveries.enqueue_for(events, scheduled_reached=scheduled_reached)
        _announce(*(event.message() for event in events))
    return events


def _event(version: Version, namespace: str, key: str, kind: str, cancelled: bool = False):
    return ChangeEvent(
        kind=kind,
        namespace=namespace,
        key=key,
        environment_id=version.environment_id,
        version_id=version.pk,
        number=version.number,
        effective_at=version.effective_at,
        cancelled=cancelled,
    )


def _published_kind(version: Version, now: datetime) -> str:
    """A new version is `live` if it takes effect now, `scheduled` if later."""
    return ChangeEvent.Kind.LIVE if version.effective_at <= now else ChangeEvent.Kind.SCHEDULED


def version_published(version: Version) -> ChangeEvent:
    config = version.config
    kind = _published_kind(version, timezone.now())
    return _record([_event(version, config.namespace.slug, config.key, kind)])[0]


def versions_published(versions: list[Version]) -> list[ChangeEvent]:
    """New versions of many configs published together: one event each, written together."""
    where = {
        pk: (namespace, key)
        for pk, namespace, key in Config.objects.filter(
            pk__in={v.config_id for v in versions}
        ).values_list("pk", "namespace__slug", "key")
    }
    now = timezone.now()
    return _record([_event(v, *where[v.config_id], _published_kind(v, now)) for v in versions])


def version_cancelled(version: Version) -> ChangeEvent:
    config = version.config
    kind = ChangeEvent.Kind.SCHEDULED
    return _record([_event(version, config.namespace.slug, config.key, kind, cancelled=True)])[0]


def access_changed() -> None:
    """A token, a membership or a user changed: every server forgets its token checks."""
    _announce({"kind": "access"})


def _due(now: datetime):
    live = ChangeEvent.objects.filter(kind=ChangeEvent.Kind.LIVE, version_id=OuterRef("version_id"))
    return (
        ChangeEvent.objects.filter(
            kind=ChangeEvent.Kind.SCHEDULED,
            cancelled=False,
            effective_at__lte=now,
            version__cancelled_at__isnull=True,
        )
        .filter(~Exists(live))
        .select_related("version__config__namespace")
    )


def emit_due(now: datetime | None = None) -> int:
    """Write the `live` event of every scheduled version whose time has come; how many."""
    now = now or timezone.now()
    written = 0
    for scheduled in _due(now):
        try:
            with transaction.atomic():
                _lock_writers()
                # Under the lock another server's write is visible: check before writing.
                if ChangeEvent.objects.filter(
                    kind=ChangeEvent.Kind.LIVE, version_id=scheduled.version_id
                ).exists():
                    continue
                version, config = scheduled.version, scheduled.version.config
                live = _event(version, config.namespace.slug, config.key, ChangeEvent.Kind.LIVE)
                _record([live], scheduled_reached=True)
                written += 1
        except IntegrityError:  # SQLite: another process wrote it first
            continue
    return written


def next_due(now: datetime | None = None) -> datetime | None:
    """When the next scheduled version takes effect (possibly one cancelled since)."""
    now = now or timezone.now()
    return ChangeEvent.objects.filter(
        kind=ChangeEvent.Kind.SCHEDULED, cancelled=False, effective_at__gt=now
    ).aggregate(first=Min("effective_at"))["first"]


def events_after(
    last_id: int, namespace: str, environment_id: int | None = None, limit: int = 500
) -> list[dict]:
    """The namespace's events after `last_id`, oldest first; with `environment_id`, only that
    environment's (events from before environments are the default one's)."""
    events = ChangeEvent.objects.filter(namespace=namespace, id__gt=last_id)
    if environment_id is not None:
        events = events.filter(in_environment(environment_id))
    return [event.message() for event in events.order_by("id")[:limit]]


def in_environment(environment_id: int) -> Q:
    """Events of that environment (those from before environments are the default one's)."""
    condition = Q(environment_id=environment_id)
    if environment_id == environments.default().id:
        condition |= Q(environment__isnull=True)
    return condition


def latest_id() -> int:
    return ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class Feed:
    """This process's end of the feed: one thread that listens (or polls) and a list of
    subscribers it hands events to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        # Bumped whenever events may have been missed (a new connection): caches start over.
        self.epoch = 0
        # time.monotonic() of the last heartbeat; -inf (never), not 0: the clock starts near 0 at
        # the machine's boot, and "0.5 s ago" would trust a feed that never beat.
        self.last_heartbeat = float("-inf")
        # With NOTIFY every event arrives once and in order; polling only says "look again".
        self.ordered = False
        self._due_at: datetime | None = None
        self._recheck_due = True
        self.cut = False

    # Subscribers --------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers = [*self._subscribers, subscriber]

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]

    def dispatch(self, message: dict) -> None:
        if message.get("kind") == ChangeEvent.Kind.SCHEDULED:
            self._recheck_due = True
        for subscriber in self._subscribers:
            try:
                subscriber(message)
            except Exception:  # one broken subscriber must not starve the others
                logger.exception("A feed subscriber failed")

    def healthy(self) -> bool:
        """Whether every change is known to reach this process within the bound."""
        return self.ordered and time.monotonic() - self.last_heartbeat < HEALTHY_WITHIN

    # The thread ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Start this process's listener once (again in a forked child)."""
        if self.cut:
            return
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            target = self._listen if _postgresql() else self._poll
            self._thread = threading.Thread(target=target, name="change-feed", daemon=True)
            self._thread.start()

    def stop(self, *, cut: bool = False) -> None:
        """Stop listening; with `cut`, stay stopped (tests of a lost feed) until `stop()`."""
        self.cut = cut
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None
        self.ordered = False
        self.last_heartbeat = float("-inf")

    def _keep_time(self) -> None:
        """Write due `live` events when the next effective time has come."""
        now = timezone.now()
        if self._recheck_due:
            self._recheck_due = False
            self._due_at = next_due(now)
        if self._due_at is not None and self._due_at <= now:
            emit_due(now)
            self._due_at = next_due(now)

    def _listen(self) -> None:
        import psycopg

        settings = connections["default"].settings_dict
        heartbeat = f"config_console_heartbeat_{uuid.uuid4().hex}"
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    dbname=settings["NAME"],
                    user=settings["USER"] or None,
                    password=settings["PASSWORD"] or None,
                    host=settings["HOST"] or None,
                    port=settings["PORT"] or None,
                    autocommit=True,
                    connect_timeout=5,
                ) as listener:
                    listener.execute(f'LISTEN "{CHANNEL}"')
                    listener.execute(f'LISTEN "{heartbeat}"')
                    self.epoch += 1
                    self.ordered = True
                    self._recheck_due = True
                    emit_due()  # what came due while no server was listening
                    backoff = 0.1
                    while not self._stop.is_set():
                        listener.execute(f'NOTIFY "{heartbeat}"')
                        for notice in listener.notifies(timeout=self._wait()):
                            if notice.channel == heartbeat:
                                self.last_heartbeat = time.monotonic()
                            else:
                                self.dispatch(json.loads(notice.payload))
                        self._keep_time()
                        close_old_connections()
            except Exception:
                logger.exception("The change feed lost its connection; reconnecting")
            finally:
                self.ordered = False
                connection.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _wait(self) -> float:
        if self._due_at is None:
            return HEARTBEAT_EVERY
        left = (self._due_at - timezone.now()).total_seconds()
        return max(0.0, min(HEARTBEAT_EVERY, left))

    def _poll(self) -> None:
        last_id = None
        while not self._stop.is_set():
            try:
                if last_id is None:
                    last_id = latest_id()
                self._keep_time()
                for event in ChangeEvent.objects.filter(id__gt=last_id).order_by("id")[:500]:
                    last_id = event.id
                    self.dispatch(event.message())
            except Exception:
                logger.exception("Polling the change feed failed")
            finally:
                connection.close()
            self._stop.wait(POLL_EVERY)


feed = Feed()
