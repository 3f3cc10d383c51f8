"""The installation's environments, in promotion order, remembered by each process.

Every read names an environment (or takes the default, the last one), so looking them up must
cost nothing: they are read once and kept for a few seconds. A change made in this process is
seen at once (the model's signals forget them); another server sees it within `FRESH_FOR`
seconds. Environments change rarely: an admin adds, renames or reorders one.

The reads answered in the event loop (configs/api/hot.py) ask them too, and may not query
there: on an event loop's thread the environments kept are used as they are, and read again on
a thread of their own (so such reads see a change a moment later than `FRESH_FOR`)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from dataclasses import dataclass

from django.http import Http404

# The environments a new installation (or an upgraded one) starts with, in promotion order.
DEFAULTS = (
    ("development", "Development"),
    ("staging", "Staging"),
    ("production", "Production"),
)

FRESH_FOR = 5.0  # seconds another process's change may take to be seen here


@dataclass(frozen=True)
class Env:
    id: int
    name: str
    title: str
    position: int

    @property
    def label(self) -> str:
        return self.title or self.name.capitalize()

    def __str__(self) -> str:
        return self.name


_lock = threading.Lock()
_known: tuple[Env, ...] = ()
# When they were read (time.monotonic()); never yet, or forgotten: -inf, not 0, since the
# monotonic clock starts near 0 when the machine boots.
_read_at = float("-inf")


def _model():
    """The Environment model, looked up rather than imported: configs.models imports this
    module (a version's default environment), so importing it back would make a circle."""
    from django.apps import apps

    return apps.get_model("configs", "Environment")


def ensure_defaults() -> None:
    """Create the default environments when there are none (a new installation, or a test
    database just emptied)."""
    Environment = _model()

    if not Environment.objects.exists():
        Environment.objects.bulk_create(
            Environment(name=name, title=title, position=position)
            for position, (name, title) in enumerate(DEFAULTS)
        )
    forget()


# Bumped by every forget(): a read that began before one is kept, but not as fresh (it may hold
# what the change that forgot them replaced).
_forgotten = 0


def forget() -> None:
    global _read_at, _forgotten
    with _lock:
        _forgotten += 1
        _read_at = float("-inf")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_refreshing = threading.Lock()


def _refresh_in_thread() -> None:
    """Read the environments again off the event loop (once at a time)."""
    if not _refreshing.acquire(blocking=False):
        return

    def refresh() -> None:
        from django.db import close_old_connections

        try:
            every()  # stale or forgotten, so it reads (without forgetting first: meanwhile the
            # event loop's reads keep using what is kept, see default_id_if_known)
        except Exception:  # the database is away: the next read asks again
            pass
        finally:
            close_old_connections()
            _refreshing.release()

    threading.Thread(target=refresh, name="environments", daemon=True).start()


def every() -> tuple[Env, ...]:
    """Every environment, in promotion order."""
    global _known, _read_at
    if time.monotonic() - _read_at < FRESH_FOR and _known:
        return _known
    if _known and _on_event_loop():
        _refresh_in_thread()  # Django forbids queries on the event loop's thread
        return _known
    Environment = _model()
    forgotten = _forgotten

    # Read without holding the lock: a thread waiting for it may hold the pool's last connection
    # while the reader waits for one (two threads reading at once cost one query more).
    rows = tuple(
        Env(pk, name, title, position)
        for pk, name, title, position in Environment.objects.order_by("position", "id").values_list(
            "pk", "name", "title", "position"
        )
    )
    if not rows:
        ensure_defaults()
        return every()
    with _lock:
        renamed = bool(_known) and _names(_known) != _names(rows)
        _known = rows
        _read_at = time.monotonic() if forgotten == _forgotten else float("-inf")
    if renamed:
        for forget_answers in _on_rename:
            forget_answers()
    return rows


def _names(known: tuple[Env, ...]) -> dict[int, str]:
    return {env.id: env.name for env in known}


# What this process keeps that holds environments' names (answers prepared as bytes): forgotten
# when a read of the environments finds one renamed (here at once, on other servers within
# FRESH_FOR seconds), so no answer names an environment by its old name.
_on_rename: list = []


def when_renamed(forget_answers) -> None:
    """Call `forget_answers()` whenever this process finds an environment renamed."""
    _on_rename.append(forget_answers)


def naming() -> str:
    """A short digest of every environment's name, for keys of answers shared between servers
    (configs/api/reads.py): a rename gives new keys, so no server takes another's old bytes."""
    names = sorted(_names(every()).items())
    return hashlib.blake2b(repr(names).encode(), digest_size=4).hexdigest()


def default_id_if_known() -> int | None:
    """The default environment's id as this process knows it, without asking the database; None
    when it has never read them (or has forgotten them). For answers made from memory alone, in
    the server's event loop, where no query may run (push/memory.py).

    Past FRESH_FOR seconds the kept id is still given, and the environments are read again on a
    thread of their own, as every() does on an event loop. Answering None then instead sent every
    read of every token without an environment through Django each FRESH_FOR seconds, for as long
    as the first of them took to read the environments again: a burst of 30 to 400 ms answers
    every 5 s, which was most of the token read's p99 under load (issue 25)."""
    known = _known
    if not known or _read_at == float("-inf"):
        return None
    if time.monotonic() - _read_at >= FRESH_FOR:
        _refresh_in_thread()
    return known[-1].id


def default() -> Env:
    """The default environment: the last one. Reads that name none read it."""
    return every()[-1]


def named(name: str | None) -> Env:
    """The environment called `name` (the default one when `name` is empty); 404 when there is
    none by that name."""
    if not name:
        return default()
    for env in every():
        if env.name == name:
            return env
    raise Http404(f"No environment called {name!r}.")


def by_id(pk: int | None) -> Env:
    """The environment with id `pk` (the default one for None)."""
    if pk is None:
        return default()
    for env in every():
        if env.id == pk:
            return env
    forget()
    for env in every():
        if env.id == pk:
            return env
    raise LookupError(f"No environment with id {pk}.")


def id_of(env: Env | None) -> int:
    """The id of `env`, or of the default environment for None."""
    return env.id if env is not None else default().id


def previous(env: Env) -> Env | None:
    """The environment before `env` in promotion order, or None for the first."""
    envs = every()
    index = envs.index(env)
    return envs[index - 1] if index > 0 else None


def labelled(label: str, pk: int | None) -> str:
    """`label` ("namespace/key") as answers name it in environment `pk`: with "@environment"
    outside the default one, so what named a config before environments still does."""
    if pk is None or pk == default().id:
        return label
    return f"{label}@{by_id(pk).name}"
