"""Consumers: which tokens read each config, the version each read last, and when.

Recording sits on the read path, which must not get slower, so a read only notes what it served
in this process's memory (a dictionary lookup; no query, no cache round trip). A background
thread writes the notes in one batch every few seconds. A token reading the same version of a
config again within a minute is not noted again; the shared cache keeps the other servers'
processes from writing it again within that minute too. A read of another version is noted at
once, so the version shown is the one read last.

The same thread writes a token's last use (`last_used_at`, due once a minute) for the reads
answered in front of Django (configs/api/hot.py), so that write never holds a read up.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from configs.environments import Env
from configs.models import ApiToken, Config, Consumer, Version

logger = logging.getLogger(__name__)

RECORD_EVERY = 60  # seconds: how often one token's reads of one version are written at most
# Past this, a consumer still reading an older version than the live one is flagged.
BEHIND_FOR = timedelta(days=1)

_Read = tuple[int, str, str]  # (token id, namespace, config key)

_noted: dict[_Read, tuple[int, float]] = {}  # what this process last noted: version id, when
_pending: dict[_Read, tuple[int, datetime]] = {}  # not yet written: version id, read at
_lock = threading.Lock()
# (token id, namespace) -> the bundle ETag last noted and when (note_live)
_bundles_noted: dict[tuple[int, str], tuple[str, float]] = {}
_uses: dict[int, datetime] = {}  # token id -> its last use, not yet written
_USES_PER_STATEMENT = 1000  # 4 parameters each: well under PostgreSQL's 65,535
_BUNDLES_NOTED_LIMIT = 10_000
_flusher_pid: int | None = None
_stop_flusher = threading.Event()


def note(token_id: int, namespace: str, key: str, version_id: int, now: datetime) -> None:
    """Remember that the token was served this version (no query; written later in a batch)."""
    read = (token_id, namespace, key)
    stamp = now.timestamp()
    seen = _noted.get(read)
    if seen is not None and seen[0] == version_id and stamp - seen[1] < RECORD_EVERY:
        return
    with _lock:
        _noted[read] = (version_id, stamp)
        _pending[read] = (version_id, now)
    if _flusher_pid != os.getpid():
        _start_flusher()


def written_in_background() -> bool:
    """Whether a thread writes the notes (CONSUMER_FLUSH_SECONDS); with 0, only flush() does."""
    return bool(settings.CONSUMER_FLUSH_SECONDS)


def note_use(token_id: int, now: datetime) -> None:
    """Remember that the token was used now (no query; its last_used_at is written later)."""
    with _lock:
        _uses[token_id] = max(now, _uses.get(token_id, now))
    if _flusher_pid != os.getpid():
        _start_flusher()


def _write_uses(uses: dict[int, datetime]) -> None:
    """Each token's last use, in one statement per thousand tokens; a time is only ever moved
    forward (another process, or Django's own path, may have written a later one meanwhile)."""
    items = list(uses.items())
    for start in range(0, len(items), _USES_PER_STATEMENT):
        chunk = dict(items[start : start + _USES_PER_STATEMENT])
        later = Q(last_used_at__isnull=True)
        ApiToken.objects.filter(pk__in=chunk).update(
            last_used_at=Case(
                *(
                    When(Q(pk=token_id) & (later | Q(last_used_at__lt=at)), then=Value(at))
                    for token_id, at in chunk.items()
                ),
                default=F("last_used_at"),
            )
        )


def note_live(token_id: int, namespace: str, live, etag: str, now: datetime) -> None:
    """note() each config of a namespace's bundle (`live`: (key, version id) pairs, `etag` the
    bundle's); the same bundle read again by the same token within RECORD_EVERY is not gone
    through again, so a warm read of 4,000 configs does not cost 4,000 lookups."""
    stamp = now.timestamp()
    seen = _bundles_noted.get((token_id, namespace))
    if seen is not None and seen[0] == etag and stamp - seen[1] < RECORD_EVERY:
        return
    if len(_bundles_noted) > _BUNDLES_NOTED_LIMIT:
        _bundles_noted.clear()
    _bundles_noted[(token_id, namespace)] = (etag, stamp)
    for key, version_id in live:
        note(token_id, namespace, key, version_id, now)


def note_bundle(request, namespace: str, live: list[tuple[str, int]]) -> None:
    """A token's bundle read is a read of each of its configs."""
    if isinstance(request.auth, ApiToken):
        now = timezone.now()
        for key, version_id in live:
            note(request.auth.pk, namespace, key, version_id, now)


def note_request(request, namespace: str, key: str, version_id: int) -> None:
    """Note a read made through DRF, when a token made it (people in the console are not
    consumers)."""
    if isinstance(request.auth, ApiToken):
        note(request.auth.pk, namespace, key, version_id, timezone.now())


def _already_written(batch: dict[_Read, tuple[int, datetime]]) -> set[_Read]:
    """The reads another process wrote within the minute, by the shared cache: two round trips
    for the whole batch (two processes racing for one read both write it, which is harmless)."""
    keys = {
        f"consumer:{token_id}:{namespace}:{key}:{version_id}": (token_id, namespace, key)
        for (token_id, namespace, key), (version_id, _at) in batch.items()
    }
    try:
        seen = cache.get_many(list(keys))
        cache.set_many({name: 1 for name in keys if name not in seen}, timeout=RECORD_EVERY)
    except Exception:  # the cache is down: write them all rather than lose them
        logger.warning("Consumers: the shared cache is unavailable; writing without it.")
        return set()
    return {keys[name] for name in seen}


def flush() -> int:
    """Write the noted tokens' last uses, then the noted reads in one batch; returns how many
    (token, config) rows were written. Uses that could not be written are kept for the next."""
    cutoff = time.time() - RECORD_EVERY
    with _lock:
        batch = dict(_pending)
        _pending.clear()
        uses = dict(_uses)
        _uses.clear()
        # Only the last minute's notes decide anything; older ones would only fill memory.
        for read in [read for read, (_id, stamp) in _noted.items() if stamp < cutoff]:
            del _noted[read]
    try:
        _write_uses(uses)
    except DatabaseError:
        # A token's use is noted once a minute per process: lost here, its last read could
        # stay unwritten for good.
        for token_id, at in uses.items():
            note_use(token_id, at)
        raise
    for read in _already_written(batch):
        del batch[read]
    if not batch:
        return 0
    configs = dict(
        Version.objects.filter(pk__in={version_id for version_id, _at in batch.values()})
        .values_list("pk", "config_id")
        .order_by()
    )
    tokens = set(
        ApiToken.objects.filter(pk__in={read[0] for read in batch}).values_list("pk", flat=True)
    )
    rows = [
        Consumer(
            token_id=token_id,
            config_id=configs[version_id],
            last_version_id=version_id,
            last_read_at=at,
        )
        for (token_id, _namespace, _key), (version_id, at) in batch.items()
        if version_id in configs and token_id in tokens
    ]
    Consumer.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["token", "config"],
        update_fields=["last_version", "last_read_at"],
        batch_size=1000,
    )
    return len(rows)


def forget() -> None:
    """Drop what this process noted and has not written (tests reuse ids after rolling back)."""
    with _lock:
        _noted.clear()
        _pending.clear()
        _bundles_noted.clear()
        _uses.clear()


def _flush_quietly() -> None:
    close_old_connections()
    try:
        flush()
    except DatabaseError:
        # The database is away: these reads go unrecorded, the next ones are recorded (tokens'
        # last uses are kept and written at the next batch).
        logger.warning("Consumers: could not record reads; the database is unavailable.")
    finally:
        close_old_connections()


def _flush_until(stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        _flush_quietly()


def _start_flusher() -> None:
    """One writer thread per process (a forked worker starts its own)."""
    global _flusher_pid, _stop_flusher
    every = settings.CONSUMER_FLUSH_SECONDS
    with _lock:
        if _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
        if not every:
            return  # written only by an explicit flush() (the tests do)
        _stop_flusher = threading.Event()
        thread = threading.Thread(
            target=_flush_until,
            args=(_stop_flusher, every),
            name="consumer-recorder",
            daemon=True,
        )
        thread.start()
    atexit.register(_flush_quietly)


def stop_recorder() -> None:
    """Stop this process's writer thread; the next noted read starts one again."""
    global _flusher_pid
    with _lock:
        _stop_flusher.set()
        _flusher_pid = None


@dataclass(frozen=True)
class Reader:
    """One consumer of a config, as the pages and the API show it."""

    token: str
    owner: str
    last_version: int
    last_read_at: datetime
    # Read an older version than the live one after the live one took effect: a pinned read.
    pinned: bool
    # Reads an older version than one that has been live for over BEHIND_FOR: worth a look.
    behind: bool


def consumers_of(
    *,
    config: Config,
    live: Version | None,
    environment: Env | None = None,
    now: datetime | None = None,
) -> list[Reader]:
    """The tokens (not revoked) that read `config` in `environment` (every one when None), the
    one read most recently first."""
    now = now or timezone.now()
    rows = Consumer.objects.filter(config=config, token__revoked_at__isnull=True)
    if environment is not None:
        rows = rows.filter(last_version__environment_id=environment.id)
    rows = rows.order_by("-last_read_at", "-id").values_list(
        "token__name", "token__user__username", "last_version__number", "last_read_at"
    )
    readers = []
    for token, owner, number, read_at in rows:
        older = live is not None and number < live.number
        readers.append(
            Reader(
                token=token,
                owner=owner,
                last_version=number,
                last_read_at=read_at,
                pinned=older and read_at >= live.effective_at,
                behind=older and live.effective_at <= now - BEHIND_FOR,
            )
        )
    return readers
