"""Token checks and live versions kept in this process's memory, so a warm read asks nothing.

The read path's one statement (configs/api/lookup.py) answers who the token is, whether it
reaches the namespace, its person's role there, and the config's live version. This module
keeps those answers per token and per config, and the change feed forgets them: a publish,
cancel or scheduled version of a config drops that config's entry; any change to tokens,
memberships or people drops every token check. A config's entry also knows when its next
scheduled version takes effect and is not used from that instant on.

Memory is used only while the feed is known to be healthy (its listener heard its own
heartbeat within the last second); otherwise, and whenever the listener has reconnected since
an entry was made, reads go back to the database. So nothing is served stale longer than the
feed takes to deliver, which is what `make bench` (f) measures.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection

from configs import environments
from configs.api.authentication import token_row, use_is_due
from configs.api.lookup import TokenRow
from configs.api.reads import bundle_etag, prepared_many
from configs.models import ApiToken, Version
from configs.selectors import live_version_ids
from configs.services import token_hash
from push.feed import feed


class Recent(OrderedDict):
    """A dictionary that keeps the entries read most recently, up to a bound (the setting
    READ_MEMORY_ENTRIES, read at each insertion so tests and operators may change it): past it,
    the least recently read entry is dropped, and its next read goes to the database, which
    remembers it again. An entry may weigh more than one (a namespace's live versions weigh one
    per config)."""

    def __init__(self, weigh=None) -> None:
        super().__init__()
        self.weigh = weigh
        self.weight = 0

    def _weight_of(self, value) -> int:
        return 1 if self.weigh is None else self.weigh(value)

    def used(self, key) -> None:
        """Mark `key` read just now (a key another thread has just dropped is no error)."""
        try:
            self.move_to_end(key)
        except KeyError:
            pass

    def put(self, key, value) -> None:
        old = self.pop(key, None)
        if old is not None:
            self.weight -= self._weight_of(old)
        self[key] = value
        self.weight += self._weight_of(value)
        bound = settings.READ_MEMORY_ENTRIES
        while self.weight > bound and self:
            _key, dropped = self.popitem(last=False)
            self.weight -= self._weight_of(dropped)

    def forget(self, key) -> None:
        old = self.pop(key, None)
        if old is not None:
            self.weight -= self._weight_of(old)

    def clear(self) -> None:
        super().clear()
        self.weight = 0


@dataclass(slots=True)
class LiveVersion:
    version_id: int | None  # None: the config has no live version (or does not exist)
    until: datetime | None  # when the next scheduled version takes effect


@dataclass(frozen=True, slots=True)
class NamespaceLive:
    """A namespace's live versions, as its bundle lists them, and the bundle's ETag."""

    live: tuple[tuple[str, int], ...]  # (config key, live version id), by key
    etag: str
    until: datetime | None  # when the namespace's next scheduled version takes effect
    environment: str  # the name of the environment they are live in


class ReadMemory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: Recent = Recent()  # by hash: TokenRow, the namespace-free part of the row
        self.scopes: Recent = Recent()  # (hash, namespace) -> (in scope, role)
        self.configs: Recent = Recent()  # (namespace, key, environment id) -> LiveVersion
        # by hash: the namespaces the token reads (OpenFeature's flags, configs/ofrep.py)
        self.namespaces: Recent = Recent()
        # by (namespace, environment id): its bundle's live versions, weighing one per config
        self.bundles: Recent = Recent(weigh=lambda kept: len(kept.live) + 1)
        self.generation = 0  # bumped by every forgetting: answers read before it are not kept
        self.epoch = -1  # the feed's connection these entries were made under
        self.subscribed = False

    def forget(self, message: dict) -> None:
        """The feed's subscriber: drop what the change makes stale."""
        with self._lock:
            self.generation += 1
            if message.get("kind") == "access":
                self.tokens.clear()
                self.scopes.clear()
                self.namespaces.clear()
            else:
                environment_id = message.get("environment_id")
                place = (message.get("namespace"), message.get("key"), environment_id)
                kept = self.configs.get(place)
                self.configs.forget(place)
                self.bundles.forget((message.get("namespace"), environment_id))
                version_id = message.get("version_id")
                if (
                    message.get("kind") == "live"
                    and version_id is not None
                    and kept is not None
                    and kept.until is None
                ):
                    # The new live version is known: keep reading from memory with it, and
                    # prepare its bytes at once, so the first read after a publish on every
                    # server is as fast as the others (what `make bench` (f) measures).
                    self.configs.put(place, LiveVersion(version_id, None))
                    _prepare_soon(version_id)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self.tokens.clear()
            self.scopes.clear()
            self.configs.clear()
            self.namespaces.clear()
            self.bundles.clear()

    def usable(self) -> bool:
        if not self.subscribed:
            feed.subscribe(self.forget)
            self.subscribed = True
        feed.ensure_started()
        if not feed.healthy():
            return False
        if self.epoch != feed.epoch:
            self.clear()  # events may have been missed while the listener was away
            self.epoch = feed.epoch
        return True

    def _reader(self, key_hash: str, namespace: str, now: datetime):
        """The token and its scope in `namespace`, if remembered and not expired."""
        token = self.tokens.get(key_hash)
        scope = self.scopes.get((key_hash, namespace))
        if token is None or scope is None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        self.tokens.used(key_hash)
        self.scopes.used((key_hash, namespace))
        return token, scope

    def recall(self, key_hash: str, namespace: str, key: str, now: datetime) -> TokenRow | None:
        reader = self._reader(key_hash, namespace, now)
        if reader is None:
            return None
        token, scope = reader
        environment_id = _environment_known(token)
        if environment_id is None:
            return None
        place = (namespace, key, environment_id)
        live = self.configs.get(place)
        if live is None or (live.until is not None and live.until <= now):
            return None
        self.configs.used(place)
        return replace(token, in_scope=scope[0], role=scope[1], live_version_id=live.version_id)

    def recall_bundle(
        self, key_hash: str, namespace: str, now: datetime
    ) -> tuple[TokenRow, NamespaceLive] | None:
        """The token (with its scope in `namespace`) and the namespace's live versions in the
        token's environment."""
        reader = self._reader(key_hash, namespace, now)
        if reader is None:
            return None
        token, scope = reader
        environment_id = _environment_known(token)
        if environment_id is None:
            return None
        place = (namespace, environment_id)
        kept = self.bundles.get(place)
        if kept is None or (kept.until is not None and kept.until <= now):
            return None
        self.bundles.used(place)
        return replace(token, in_scope=scope[0], role=scope[1]), kept

    def _remember_reader(self, key_hash: str, namespace: str, row: TokenRow) -> None:
        self.tokens.put(key_hash, replace(row, in_scope=None, role=None, live_version_id=None))
        self.scopes.put((key_hash, namespace), (row.in_scope, row.role))

    def remember(self, generation: int, key_hash, namespace, key, row: TokenRow, live) -> None:
        with self._lock:
            if generation != self.generation or self.epoch != feed.epoch:
                return  # something changed while we asked: the answer may already be stale
            self._remember_reader(key_hash, namespace, row)
            self.configs.put((namespace, key, _environment_of(row)), live)

    def remember_bundle(
        self, generation: int, key_hash: str, namespace: str, row: TokenRow, kept: NamespaceLive
    ) -> None:
        with self._lock:
            if generation != self.generation or self.epoch != feed.epoch:
                return
            self._remember_reader(key_hash, namespace, row)
            self.bundles.put((namespace, _environment_of(row)), kept)

    def used_at(self, key_hash: str, now: datetime) -> None:
        """Note that the token's last_used_at was written just now, or handed to the recorder
        (configs/consumers.note_use)."""
        with self._lock:
            remembered = self.tokens.get(key_hash)
            if remembered is not None:
                self.tokens.put(key_hash, replace(remembered, last_used_at=now))

    def recall_namespaces(self, key_hash: str, now: datetime) -> tuple[TokenRow, tuple] | None:
        """The token and the namespaces it reads, if remembered and not expired."""
        token = self.tokens.get(key_hash)
        namespaces = self.namespaces.get(key_hash)
        if token is None or namespaces is None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        self.tokens.used(key_hash)
        self.namespaces.used(key_hash)
        return token, namespaces

    def remember_namespaces(self, generation: int, key_hash: str, row: TokenRow, namespaces):
        with self._lock:
            if generation != self.generation or self.epoch != feed.epoch:
                return
            if key_hash not in self.tokens:
                self.tokens.put(
                    key_hash, replace(row, in_scope=None, role=None, live_version_id=None)
                )
            self.namespaces.put(key_hash, tuple(namespaces))


memory = ReadMemory()
# One thread per process prepares newly live versions' bytes (a query) off the feed's thread.
_preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-live")


def _prepare_soon(version_id: int) -> None:
    def prepare() -> None:
        try:
            prepared_many([version_id])
        except DatabaseError:
            pass  # the first read prepares it then, through Django
        finally:
            connection.close()  # back to the pool

    _preparer.submit(prepare)


def _environment_of(token: TokenRow) -> int:
    """The environment a token reads: its own, or the default one."""
    return token.environment_id if token.environment_id is not None else environments.default().id


def _environment_known(token: TokenRow) -> int | None:
    """The environment a token reads, without a query (recall runs in the server's event loop,
    where none may run); None when the default one is not known here (never read, or forgotten
    by a change in this process): Django answers, and reads the environments again."""
    if token.environment_id is not None:
        return token.environment_id
    return environments.default_id_if_known()


def _next_effective(namespace: str, key: str, environment_id: int, now: datetime):
    return (
        Version.objects.active()
        .filter(
            config__namespace__slug=namespace,
            config__key=key,
            environment_id=environment_id,
            effective_at__gt=now,
        )
        .order_by("effective_at")
        .values_list("effective_at", flat=True)
        .first()
    )


def remembered_token(secret: str, namespace: str, key: str, now: datetime) -> TokenRow:
    """What `token_row` answers, from memory when the feed allows (see the module's docstring).

    Raises AuthenticationFailed as `token_row` does; only usable tokens are ever remembered."""
    if not settings.READS_FROM_MEMORY or not memory.usable():
        return token_row(secret, namespace, key, now)
    key_hash = token_hash(secret)
    token = memory.recall(key_hash, namespace, key, now)
    if token is not None:
        if use_is_due(token, now):
            ApiToken.objects.filter(pk=token.id).update(last_used_at=now)
            memory.used_at(key_hash, now)
        return token
    generation = memory.generation
    token = token_row(secret, namespace, key, now)
    if use_is_due(token, now):
        token = replace(token, last_used_at=now)  # token_row has just written it
    if token.in_scope and (token.role is not None or token.user_is_superuser):
        until = _next_effective(namespace, key, _environment_of(token), now)
        live = LiveVersion(token.live_version_id, until)
        memory.remember(generation, key_hash, namespace, key, token, live)
    return token


def remembered_namespaces(secret: str, now: datetime) -> tuple[TokenRow, tuple[str, ...]]:
    """The usable token whose secret this is and the namespaces it reads (OpenFeature's flags),
    from memory when the feed allows; raises AuthenticationFailed as `token_row` does."""
    from configs.ofrep import readable_namespaces

    usable = settings.READS_FROM_MEMORY and memory.usable()
    key_hash = token_hash(secret)
    if usable:
        kept = memory.recall_namespaces(key_hash, now)
        if kept is not None:
            return kept
    generation = memory.generation
    token = token_row(secret, None, None, now)
    if use_is_due(token, now):
        token = replace(token, last_used_at=now)  # token_row has just written it
    namespaces = readable_namespaces(
        token_id=token.id, user_id=token.user_id, superuser=token.user_is_superuser
    )
    if usable:
        memory.remember_namespaces(generation, key_hash, token, namespaces)
    return token, namespaces


def _next_effective_in(namespace: str, environment_id: int, now: datetime) -> datetime | None:
    return (
        Version.objects.active()
        .filter(
            config__namespace__slug=namespace, environment_id=environment_id, effective_at__gt=now
        )
        .order_by("effective_at")
        .values_list("effective_at", flat=True)
        .first()
    )


def remembered_bundle(secret: str, namespace: str, now: datetime) -> tuple[TokenRow, NamespaceLive]:
    """The token (its scope in `namespace`) and the namespace's live versions, from memory when
    the feed allows, as `remembered_token` does for one config. Raises AuthenticationFailed as
    `token_row` does; only usable tokens are ever remembered."""
    usable = settings.READS_FROM_MEMORY and memory.usable()
    key_hash = token_hash(secret)
    if usable:
        kept = memory.recall_bundle(key_hash, namespace, now)
        if kept is not None:
            token = kept[0]
            if use_is_due(token, now):
                ApiToken.objects.filter(pk=token.id).update(last_used_at=now)
                memory.used_at(key_hash, now)
            return kept
    generation = memory.generation
    token = token_row(secret, namespace, None, now)
    if use_is_due(token, now):
        token = replace(token, last_used_at=now)  # token_row has just written it
    env = environments.by_id(_environment_of(token))
    live = tuple(live_version_ids(namespace=namespace, at=now, environment=env))
    etag = bundle_etag(live, env.name)
    if not (usable and token.in_scope and (token.role is not None or token.user_is_superuser)):
        return token, NamespaceLive(live, etag, None, env.name)
    kept_live = NamespaceLive(live, etag, _next_effective_in(namespace, env.id, now), env.name)
    memory.remember_bundle(generation, key_hash, namespace, token, kept_live)
    return token, kept_live
