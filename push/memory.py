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
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings

from configs.api.authentication import LAST_USED_PRECISION, token_row
from configs.api.lookup import TokenRow
from configs.models import ApiToken, Version
from configs.services import token_hash
from push.feed import feed

LIMIT = 100_000  # entries of each kind; beyond it memory starts over (a crude but safe bound)


@dataclass(slots=True)
class LiveVersion:
    version_id: int | None  # None: the config has no live version (or does not exist)
    until: datetime | None  # when the next scheduled version takes effect


class ReadMemory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: dict[str, TokenRow] = {}  # by hash; the namespace-free part of the row
        self.scopes: dict[tuple[str, str], tuple[bool, str | None]] = {}  # (hash, namespace)
        self.configs: dict[tuple[str, str], LiveVersion] = {}
        # by hash: the namespaces the token reads (OpenFeature's flags, configs/ofrep.py)
        self.namespaces: dict[str, tuple[str, ...]] = {}
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
                self.configs.pop((message.get("namespace"), message.get("key")), None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self.tokens.clear()
            self.scopes.clear()
            self.configs.clear()
            self.namespaces.clear()

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

    def recall(self, key_hash: str, namespace: str, key: str, now: datetime) -> TokenRow | None:
        token = self.tokens.get(key_hash)
        scope = self.scopes.get((key_hash, namespace))
        live = self.configs.get((namespace, key))
        if token is None or scope is None or live is None:
            return None
        if live.until is not None and live.until <= now:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        return replace(token, in_scope=scope[0], role=scope[1], live_version_id=live.version_id)

    def remember(self, generation: int, key_hash, namespace, key, row: TokenRow, live) -> None:
        with self._lock:
            if generation != self.generation or self.epoch != feed.epoch:
                return  # something changed while we asked: the answer may already be stale
            if len(self.tokens) > LIMIT or len(self.configs) > LIMIT:
                self.tokens.clear()
                self.scopes.clear()
                self.configs.clear()
                self.namespaces.clear()
            self.tokens[key_hash] = replace(row, in_scope=None, role=None, live_version_id=None)
            self.scopes[(key_hash, namespace)] = (row.in_scope, row.role)
            self.configs[(namespace, key)] = live

    def recall_namespaces(self, key_hash: str, now: datetime) -> tuple[TokenRow, tuple] | None:
        """The token and the namespaces it reads, if remembered and not expired."""
        token = self.tokens.get(key_hash)
        namespaces = self.namespaces.get(key_hash)
        if token is None or namespaces is None:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        return token, namespaces

    def remember_namespaces(self, generation: int, key_hash: str, row: TokenRow, namespaces):
        with self._lock:
            if generation != self.generation or self.epoch != feed.epoch:
                return
            if len(self.namespaces) > LIMIT:
                self.namespaces.clear()
            self.tokens.setdefault(
                key_hash, replace(row, in_scope=None, role=None, live_version_id=None)
            )
            self.namespaces[key_hash] = tuple(namespaces)


memory = ReadMemory()


def _next_effective(namespace: str, key: str, now: datetime) -> datetime | None:
    return (
        Version.objects.active()
        .filter(config__namespace__slug=namespace, config__key=key, effective_at__gt=now)
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
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.id).update(last_used_at=now)
            remembered = memory.tokens.get(key_hash)
            if remembered is not None:
                memory.tokens[key_hash] = replace(remembered, last_used_at=now)
        return token
    generation = memory.generation
    token = token_row(secret, namespace, key, now)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token = replace(token, last_used_at=now)  # token_row has just written it
    if token.in_scope and (token.role is not None or token.user_is_superuser):
        live = LiveVersion(token.live_version_id, _next_effective(namespace, key, now))
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
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token = replace(token, last_used_at=now)  # token_row has just written it
    namespaces = readable_namespaces(
        token_id=token.id, user_id=token.user_id, superuser=token.user_is_superuser
    )
    if usable:
        memory.remember_namespaces(generation, key_hash, token, namespaces)
    return token, namespaces
