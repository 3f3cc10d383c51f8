"""`ConfigClient`: read configs from Config Console, fast, and safely when the server is away."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import email.utils
import gzip
import hashlib
import http.client
import json
import os
import platform
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from ._disk import DiskCache, default_cache_dir
from ._version import __version__
from ._watch import Watch
from .errors import (
    AuthenticationError,
    ConfigConsoleError,
    ConfigNotFound,
    ContextRefused,
    MissingOverride,
    PreviewUnavailable,
    PreviewWarning,
    ProposalRefused,
    ServerUnreachable,
    ServerUnreachableWarning,
)
from .evaluation import Evaluation, evaluate

DEFAULT_TTL = 30.0
DEFAULT_TIMEOUT = 5.0
MAX_ENTRIES = 1000  # copies kept in memory per client; the oldest go first
USER_AGENT = f"config-console-client/{__version__} Python/{platform.python_version()}"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The default of `default=`: no fallback value, so a missing config raises."""

_DEFAULT_CACHE_DIR: Any = _Missing()


@dataclass
class ClientStats:
    """What the client did so far; handy in tests and for a pipeline's own metrics."""

    requests: int = 0  # HTTP requests sent
    cache_hits: int = 0  # answered from memory within the TTL, no request
    fetched: int = 0  # 200 answers
    not_modified: int = 0  # 304 answers: the cached copy was confirmed
    stale: int = 0  # answered from a last-known-good copy, with a warning
    overridden: int = 0  # answered from a local override, no request


@dataclass
class _Entry:
    document_json: str  # parsed afresh for each caller, so no caller can change the cache
    etag: str | None
    confirmed_at: float  # wall clock: when the server last said this copy is current
    fresh_until: float  # monotonic clock: no request before this
    origin: str  # "memory" or "disk cache <path>", for the warning
    unreachable: str | None = None  # why the server could not answer, while this is served stale
    stamp: tuple | None = None  # what a watch stream had said when this copy was fetched

    def document(self) -> dict[str, Any]:
        return json.loads(self.document_json)


@dataclass(frozen=True)
class _Read:
    """One kind of read: its URL, and what identifies its cached copy."""

    kind: str  # "config" or "bundle"
    namespace: str
    key: str | None = None
    version: int | None = None
    at: str | None = None
    change_request: int | None = None  # a preview of this change request's proposal

    @property
    def path(self) -> str:
        namespace = urllib.parse.quote(self.namespace, safe="")
        if self.kind == "bundle":
            return f"/api/v1/namespaces/{namespace}/bundle/"
        return f"/api/v1/configs/{namespace}/{urllib.parse.quote(self.key, safe='')}/"

    @property
    def params(self) -> dict[str, str]:
        params = {}
        if self.version is not None:
            params["version"] = str(self.version)
        if self.at is not None:
            params["at"] = self.at
        if self.change_request is not None:
            params["change_request"] = str(self.change_request)
        return params

    @property
    def immutable(self) -> bool:
        """A numbered version never changes, so its copy never needs revalidating."""
        return self.version is not None

    @property
    def label(self) -> str:
        if self.kind == "bundle":
            return f"the bundle of namespace {self.namespace}"
        label = f"{self.namespace}/{self.key}"
        if self.version is not None:
            label += f" version {self.version}"
        if self.at is not None:
            label += f" at {self.at}"
        if self.change_request is not None:
            label += f" (preview of change request #{self.change_request})"
        return label

    def identity(self) -> dict[str, Any]:
        identity = {
            "kind": self.kind,
            "namespace": self.namespace,
            "key": self.key,
            "version": self.version,
            "at": self.at,
        }
        if self.change_request is not None:
            identity["change_request"] = self.change_request
        return identity


class _Unreachable(Exception):
    """The server gave no usable answer (internal: becomes a warning or ServerUnreachable)."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float = 0.0):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _evaluated(key: str, document: Mapping[str, Any], context: Any) -> Any:
    """What `context` gets from a read config (a local override has no overrides: its value)."""
    result = evaluate(key, document["value"], document.get("overrides") or [], context)
    if result.error is not None:
        raise ContextRefused(f"{key}: {result.error.details}", code=result.error.code)
    return result.value


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would resend the Authorization header to wherever a redirect points.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class ConfigClient:
    """Reads configs over the HTTP API, with a TTL cache, ETag revalidation, last-known-good
    copies on disk and local overrides.

    `base_url` and `token` default to `$CONFIG_CONSOLE_URL` and `$CONFIG_CONSOLE_TOKEN`; with
    neither a `base_url` nor the variable, the client is offline and answers from overrides only.
    `previews` (and `$CONFIG_CONSOLE_PREVIEW`, "ns/key=17,…") read chosen configs as an open
    change request's proposal instead of their live value. `environment` (and
    `$CONFIG_CONSOLE_ENVIRONMENT`, e.g. "staging") names the environment every read is of;
    without it, the token's own.
    One client is safe to share between threads.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        ttl: float = DEFAULT_TTL,
        timeout: float = DEFAULT_TIMEOUT,
        cache_dir: str | os.PathLike | None = _DEFAULT_CACHE_DIR,
        overrides: Mapping[str, Any] | None = None,
        overrides_file: str | os.PathLike | None = None,
        previews: Mapping[str, int] | None = None,
        environment: str | None = None,
        offline: bool = False,
        user_agent: str | None = None,
        ssl_context=None,
    ):
        if ttl < 0:
            raise ValueError("ttl must be zero or more seconds.")
        if timeout <= 0:
            raise ValueError("timeout must be more than zero seconds.")
        if offline:
            base_url = token = None
        else:
            base_url = base_url or os.environ.get("CONFIG_CONSOLE_URL") or None
            token = token or os.environ.get("CONFIG_CONSOLE_TOKEN") or None
        if base_url is not None:
            base_url = base_url.rstrip("/")
            if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
                raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}.")
            if not token:
                raise ValueError(
                    "ConfigClient needs a token: pass token= or set CONFIG_CONSOLE_TOKEN."
                )
        self.base_url = base_url
        self._token = token
        # Sent as ?environment= on every read and watch; the server answers 404 for one the
        # token may not read, so a staging job never silently reads production's values.
        environment = environment or os.environ.get("CONFIG_CONSOLE_ENVIRONMENT") or None
        self.environment = _name(environment, "environment") if environment else None
        self.ttl = float(ttl)
        self.timeout = float(timeout)
        self.user_agent = user_agent or USER_AGENT
        self.stats = ClientStats()

        if cache_dir is _DEFAULT_CACHE_DIR:
            cache_dir = default_cache_dir()
        self._disk = DiskCache(cache_dir) if cache_dir is not None and base_url else None

        handlers: list[Any] = [_NoRedirects()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)
        self._ssl = ssl_context
        self._watches: dict[str, Watch] = {}

        # Copies on disk belong to the token that read them: another token (revoked, or scoped
        # elsewhere) must not be handed them when the server cannot be asked.
        self._token_fingerprint = hashlib.sha256((token or "").encode()).hexdigest()[:16]
        self._lock = threading.Lock()  # guards the cache, the overrides and the stats
        self._entries: dict[_Read, _Entry] = {}
        self._read_locks: dict[_Read, threading.Lock] = {}

        # Lowest first: the overrides file, then `overrides=`, then each `with override(...)`.
        self._override_layers: list[dict[str, Any]] = []
        overrides_file = overrides_file or os.environ.get("CONFIG_CONSOLE_OVERRIDES") or None
        if overrides_file is not None:
            self._override_layers.append(_load_overrides_file(overrides_file))
        if overrides:
            self._override_layers.append(_check_overrides(overrides))

        # Configs read as an open change request's proposal instead of their live value.
        self.previews = _previews(os.environ.get("CONFIG_CONSOLE_PREVIEW", ""), previews)
        if self.previews:
            if self.is_offline:
                raise ValueError("Previews are read from the server: give a base_url and token.")
            listed = ", ".join(
                f"{name} as change request #{n}" for name, n in self.previews.items()
            )
            warnings.warn(
                f"Config Console previews are in use: reading {listed}. These are proposals, "
                "not published values.",
                PreviewWarning,
                stacklevel=2,
            )

    @classmethod
    def offline(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        overrides_file: str | os.PathLike | None = None,
    ) -> ConfigClient:
        """A client that never talks to a server: every read must be answered by an override."""
        return cls(offline=True, overrides=overrides, overrides_file=overrides_file)

    @property
    def is_offline(self) -> bool:
        return self.base_url is None

    def __repr__(self) -> str:
        if self.is_offline:
            return "ConfigClient.offline()"
        environment = f", environment={self.environment!r}" if self.environment else ""
        return f"ConfigClient({self.base_url!r}{environment}, ttl={self.ttl:g})"

    # --- reads -------------------------------------------------------------------------------

    def get(
        self,
        namespace: str,
        key: str,
        default: Any = MISSING,
        *,
        version: int | None = None,
        at: datetime | str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The config's value: live, or the numbered `version`, or the one in effect `at`;
        with a `context` ({"company": "globex", "targetingKey": …}), what that context gets
        by the config's overrides, evaluated here with the server's own rules.

        `default` is returned when the config does not exist (or the token cannot read it), and
        when the server cannot be reached and no copy of the config is known. A context the
        overrides cannot be evaluated for raises ContextRefused.
        """
        try:
            document = self._config(namespace, key, version, at)
        except (ConfigNotFound, ServerUnreachable):  # not PreviewUnavailable: that is a mistake
            if default is MISSING:
                raise
            return default
        if context is None:
            return document["value"]
        return _evaluated(key, document, context)

    def evaluate(
        self,
        namespace: str,
        key: str,
        context: Mapping[str, Any],
        *,
        version: int | None = None,
        at: datetime | str | None = None,
    ) -> Evaluation:
        """What `context` gets from the config, and why: `Evaluation(value, variant, reason,
        error)`, as the server's `POST …/evaluate/` answers, evaluated here from the read's
        value and overrides (cached and revalidated like every read)."""
        document = self._config(namespace, key, version, at)
        return evaluate(key, document["value"], document.get("overrides") or [], context)

    def get_config(
        self,
        namespace: str,
        key: str,
        default: Any = MISSING,
        *,
        version: int | None = None,
        at: datetime | str | None = None,
    ) -> Any:
        """The whole document: `{namespace, key, version, value, effective_at, published_at,
        published_by, schema}` (an override has `"overridden": True` and `version` None; a
        preview has `version` None and `change_request: {id, status, base_version, title}`)."""
        try:
            return self._config(namespace, key, version, at)
        except (ConfigNotFound, ServerUnreachable):
            if default is MISSING:
                raise
            return default

    def bundle(
        self, namespace: str, default: Any = MISSING, *, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Every config of the namespace the token can read, as `{key: value}`; with a
        `context`, what that context gets from each."""
        try:
            configs = self._bundle(namespace)["configs"]
        except (ConfigNotFound, ServerUnreachable):
            if default is MISSING:
                raise
            return default
        if context is None:
            return {key: config["value"] for key, config in configs.items()}
        return {key: _evaluated(key, config, context) for key, config in configs.items()}

    def get_bundle(self, namespace: str, default: Any = MISSING) -> Any:
        """The whole bundle: `{namespace, environment, configs: {key: {version, value,
        effective_at}}}`."""
        try:
            return self._bundle(namespace)
        except (ConfigNotFound, ServerUnreachable):
            if default is MISSING:
                raise
            return default

    def _config(self, namespace, key, version, at) -> dict[str, Any]:
        read = _Read(
            "config", _name(namespace, "namespace"), _name(key, "key"), _version(version), _at(at)
        )
        found, value = self._override_for(read.namespace, read.key)
        if found:
            return _override_document(read.namespace, read.key, value)
        preview = self.previews.get(f"{read.namespace}/{read.key}")
        if preview is not None and version is None and at is None:
            return self._read(dataclasses.replace(read, change_request=preview))
        return self._read(read)

    def _bundle(self, namespace: str) -> dict[str, Any]:
        read = _Read("bundle", _name(namespace, "namespace"))
        overrides = self._overrides_in(read.namespace)
        if not self.is_offline:
            document = self._read(read)
            for name, number in self.previews.items():
                namespace, key = name.split("/", 1)
                if namespace == read.namespace and key not in overrides:
                    proposal = self._read(_Read("config", namespace, key, change_request=number))
                    document["configs"][key] = {
                        "version": None,
                        "value": proposal["value"],
                        "overrides": proposal.get("overrides", []),
                        "effective_at": None,
                        "change_request": proposal.get("change_request"),
                    }
        elif overrides:
            document = {"namespace": read.namespace, "configs": {}}
        else:
            raise MissingOverride(
                f"The client is offline and has no overrides in namespace {read.namespace}: "
                "add some with client.override(...) or in the overrides file."
            )
        for key, value in overrides.items():
            document["configs"][key] = {
                "version": None,
                "value": value,
                "effective_at": None,
                "overridden": True,
            }
        return document

    def watch(self, namespace: str) -> Watch:
        """Follow `namespace`'s changes in a background thread (see "Watching" in the README):
        live reads of it are then answered from memory and see a publish within moments.

        Returns the `Watch`; `stop()` it (or use it in a `with`) to go back to polling."""
        if self.is_offline:
            raise ValueError("An offline client has no server to watch.")
        namespace = _name(namespace, "namespace")
        with self._lock:
            watch = self._watches.get(namespace)
            if watch is not None:
                return watch
            watch = self._watches[namespace] = Watch(self, namespace)
        return watch.start()

    def _unwatch(self, watch: Watch) -> None:
        with self._lock:
            if self._watches.get(watch.namespace) is watch:
                del self._watches[watch.namespace]

    def _watch_for(self, read: _Read) -> Watch | None:
        """The watch that keeps this read current, if any (live reads only)."""
        if read.version is not None or read.at is not None or read.change_request is not None:
            return None
        return self._watches.get(read.namespace)

    def _stream_stamp(self, read: _Read):
        watch = self._watch_for(read)
        return watch.stamp(read.key) if watch is not None and watch.connected else None

    def _kept_by_stream(self, read: _Read, entry: _Entry) -> bool:
        watch = self._watch_for(read)
        return (
            watch is not None
            and entry.stamp is not None
            and entry.unreachable is None
            and watch.keeps(read.key, entry.stamp)
        )

    def _refresh(self, read: _Read) -> None:
        with self._lock:
            read_lock = self._read_locks.setdefault(read, threading.Lock())
        with read_lock:
            try:
                self._fetch(read)
            except ConfigConsoleError:
                with self._lock:  # gone or no longer readable: the next read asks and says so
                    self._entries.pop(read, None)

    def _reads_in(self, namespace: str, key: str | None = None, everything=False) -> list[_Read]:
        with self._lock:
            return [
                read
                for read in self._entries
                if read.namespace == namespace
                and self._watch_for(read) is not None
                and (everything or read.kind == "bundle" or read.key == key)
            ]

    def _revalidate_namespace(self, namespace: str) -> None:
        """After (re)connecting afresh: check every copy of the namespace once (ETags)."""
        for read in self._reads_in(namespace, everything=True):
            self._refresh(read)

    def _refresh_after_event(self, namespace: str, key: str | None) -> None:
        """A config's live version changed: fetch it (and the bundle) now, before anyone asks."""
        for read in self._reads_in(namespace, key):
            self._refresh(read)

    def clear_cache(self) -> None:
        """Forget the in-memory copies (the last-known-good files on disk stay)."""
        with self._lock:
            self._entries.clear()

    # --- overrides ---------------------------------------------------------------------------

    def override(
        self, overrides: Mapping[str, Any] | str, key: str | None = None, value: Any = MISSING
    ) -> contextlib.AbstractContextManager[None]:
        """Within the block, answer these configs locally, without asking the server.

        `override({"ns/key": value, ...})` or `override("ns", "key", value)`. Nestable (the
        innermost wins); also a decorator. It covers every read of the config, whatever
        `version=` or `at=` asks, and applies to all threads using this client.
        """
        if isinstance(overrides, str):
            if key is None or value is MISSING:
                raise TypeError("override(namespace, key, value) needs all three.")
            layer = _check_overrides({f"{overrides}/{key}": value})
        else:
            if key is not None or value is not MISSING:
                raise TypeError("Pass either a mapping or (namespace, key, value).")
            layer = _check_overrides(overrides)
        return self._override_layer(layer)

    @contextlib.contextmanager
    def _override_layer(self, layer: dict[str, Any]) -> Iterator[None]:
        with self._lock:
            self._override_layers.append(layer)
        try:
            yield
        finally:
            with self._lock:
                # By identity: blocks in different threads need not end in the order they began.
                for index in range(len(self._override_layers) - 1, -1, -1):
                    if self._override_layers[index] is layer:
                        del self._override_layers[index]
                        break

    def _override_for(self, namespace: str, key: str) -> tuple[bool, Any]:
        name = f"{namespace}/{key}"
        with self._lock:
            for layer in reversed(self._override_layers):
                if name in layer:
                    self.stats.overridden += 1
                    return True, copy.deepcopy(layer[name])
        if self.is_offline:
            raise MissingOverride(
                f"{name}: the client is offline (no base_url or CONFIG_CONSOLE_URL) and has no "
                "override for it; add one with client.override(...) or in the overrides file."
            )
        return False, None

    def _overrides_in(self, namespace: str) -> dict[str, Any]:
        found = {}
        with self._lock:
            for layer in self._override_layers:
                for name, value in layer.items():
                    layer_namespace, key = name.split("/", 1)
                    if layer_namespace == namespace:
                        found[key] = value
            if found:
                self.stats.overridden += 1
        return copy.deepcopy(found)

    # --- the cache ---------------------------------------------------------------------------

    def _read(self, read: _Read) -> dict[str, Any]:
        document = self._cached(read)
        if document is not None:
            return document
        with self._lock:
            read_lock = self._read_locks.setdefault(read, threading.Lock())
        # One request per config at a time: other threads wanting it wait for its answer.
        with read_lock:
            document = self._cached(read)
            if document is not None:
                return document
            return self._fetch(read)

    def _cached(self, read: _Read) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(read)
            if entry is not None and self._kept_by_stream(read, entry):
                self.stats.cache_hits += 1
                return entry.document()
            if entry is None or time.monotonic() >= entry.fresh_until:
                return None
            if entry.unreachable is None:
                self.stats.cache_hits += 1
                return entry.document()
            self.stats.stale += 1
        _warn_stale(self.base_url, read, entry)
        return entry.document()

    def _fetch(self, read: _Read) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(read)
        if entry is None and self._keeps_on_disk(read):
            entry = self._from_disk(read)
        stamp = self._stream_stamp(read)  # before asking: an event meanwhile makes it stale
        try:
            status, headers, body = self._http_get(read, entry.etag if entry else None)
            if status == 304 and entry is not None:
                return self._confirmed(read, entry, stamp)
            if status == 200:
                return self._store(read, body, headers.get("ETag"), stamp)
            self._raise_for(read, status, headers, body)
        except _Unreachable as unreachable:
            return self._last_known_good(read, entry, unreachable)

    def _from_disk(self, read: _Read) -> _Entry | None:
        record = self._disk.load(self.base_url, self._disk_identity(read))
        if record is None:
            return None
        return _Entry(
            document_json=json.dumps(record["document"]),
            etag=record.get("etag"),
            confirmed_at=float(record.get("confirmed_at") or 0),
            fresh_until=0.0,
            origin=f"disk cache {record['path']}",
        )

    def _confirmed(self, read: _Read, entry: _Entry, stamp=None) -> dict[str, Any]:
        with self._lock:
            entry.stamp = stamp
            entry.confirmed_at = time.time()
            entry.fresh_until = self._fresh_until(read)
            entry.origin = "memory"
            entry.unreachable = None
            self._entries[read] = entry
            self.stats.not_modified += 1
        if self._keeps_on_disk(read):
            self._disk.save(
                self.base_url,
                self._disk_identity(read),
                document_json=entry.document_json,
                etag=entry.etag,
                confirmed_at=entry.confirmed_at,
            )
        return entry.document()

    def _store(self, read: _Read, body: bytes, etag: str | None, stamp=None) -> dict[str, Any]:
        document = _parse_document(read, body)
        entry = _Entry(
            document_json=json.dumps(document),
            etag=etag,
            confirmed_at=time.time(),
            fresh_until=self._fresh_until(read),
            origin="memory",
            stamp=stamp,
        )
        with self._lock:
            self._entries[read] = entry
            self.stats.fetched += 1
            self._forget_oldest()
        if self._keeps_on_disk(read):
            self._disk.save(
                self.base_url,
                self._disk_identity(read),
                document_json=entry.document_json,
                etag=etag,
                confirmed_at=entry.confirmed_at,
            )
        return entry.document()

    def _last_known_good(
        self, read: _Read, entry: _Entry | None, unreachable: _Unreachable
    ) -> dict[str, Any]:
        if entry is None:
            raise ServerUnreachable(
                f"Config Console at {self.base_url} could not be reached ({unreachable.reason}) "
                f"and no copy of {read.label} is known.",
                status=unreachable.status,
                retry_after=unreachable.retry_after or None,
            )
        with self._lock:
            # Ask the server again after a TTL (or its Retry-After), not on every read meanwhile.
            entry.fresh_until = time.monotonic() + max(self.ttl, unreachable.retry_after)
            entry.unreachable = unreachable.reason
            self._entries[read] = entry
            self.stats.stale += 1
        _warn_stale(self.base_url, read, entry)
        with self._lock:
            entry.origin = "memory"
        return entry.document()

    def _keeps_on_disk(self, read: _Read) -> bool:
        # Reads `at=` an instant are one-offs (a loop over `at=now` would fill the disk); a
        # preview is a proposal, never a value to fall back on.
        return self._disk is not None and read.at is None and read.change_request is None

    def _disk_identity(self, read: _Read) -> dict[str, Any]:
        identity = {**read.identity(), "token": self._token_fingerprint}
        if self.environment is not None:
            identity["environment"] = self.environment
        return identity

    def _forget_oldest(self) -> None:
        """Keep at most MAX_ENTRIES copies in memory (with the lock held), oldest out first."""
        while len(self._entries) > MAX_ENTRIES:
            oldest = next(iter(self._entries))
            del self._entries[oldest]
            self._read_locks.pop(oldest, None)

    def _fresh_until(self, read: _Read) -> float:
        return float("inf") if read.immutable else time.monotonic() + self.ttl

    # --- HTTP --------------------------------------------------------------------------------

    def propose(
        self,
        changes: Sequence[Mapping[str, Any]],
        *,
        title: str,
        description: str = "",
        draft: bool = False,
    ) -> dict[str, Any]:
        """Open one change request over several configs, reviewed and published as one (a
        write token acts as its owner): `changes` as `[{"namespace", "key", "value",
        "base_version"}, …]`, each on its config's newest version. Returns the change request
        as the server answers it (`id`, `status`, `changes`, `url`, …). Raises ProposalRefused
        naming each invalid value's config and path, a base that is not the newest (409) or a
        missing right, and nothing is stored."""
        if self.is_offline:
            raise ValueError("Proposals are sent to the server: give a base_url and token.")
        body = json.dumps(
            {"title": title, "description": description, "draft": draft, "changes": list(changes)}
        ).encode()
        request = urllib.request.Request(
            self.base_url + "/api/v1/change-requests/",
            data=body,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self._token}",
                "User-Agent": self.user_agent,
            },
            method="POST",
        )
        try:
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    status, answer = response.status, _body(response)
            except urllib.error.HTTPError as error:
                with error:
                    status, answer = error.code, _body(error)
        except (OSError, http.client.HTTPException, EOFError) as error:
            # Not retried: a proposal that reached the server would be opened twice.
            raise ServerUnreachable(
                f"Config Console at {self.base_url} could not be reached "
                f"({self._describe(error)}); the change request may not have been opened."
            ) from None
        if status == 201:
            return json.loads(answer)
        if status == 401:
            raise AuthenticationError(_detail(answer) or "HTTP 401", status=status)
        try:
            errors = json.loads(answer).get("errors", [])
        except (ValueError, AttributeError):
            errors = []
        raise ProposalRefused(
            f"The change request was refused ({status}): {_detail(answer)}",
            status=status,
            errors=errors,
        )

    def _http_get(self, read: _Read, etag: str | None) -> tuple[int, Mapping[str, str], bytes]:
        url = self.base_url + read.path
        params = read.params
        if self.environment is not None:
            params = {"environment": self.environment, **params}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": self.user_agent,
        }
        if etag:
            headers["If-None-Match"] = etag
        request = urllib.request.Request(url, headers=headers, method="GET")
        with self._lock:
            self.stats.requests += 1
        try:
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.status, response.headers, _body(response)
            except urllib.error.HTTPError as error:
                with error:
                    return error.code, error.headers, _body(error)
        except (OSError, http.client.HTTPException, EOFError) as error:
            raise _Unreachable(self._describe(error))

    def _describe(self, error: BaseException) -> str:
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        return str(reason) or type(reason).__name__

    def _raise_for(
        self, read: _Read, status: int, headers: Mapping[str, str], body: bytes
    ) -> NoReturn:
        detail = _detail(body)
        if status == 404 and read.change_request is not None:
            with self._lock:
                self._entries.pop(read, None)
            raise PreviewUnavailable(
                f"{read.label}: the server has no open change request #{read.change_request} of "
                f"this config that the token can read ({detail or 'HTTP 404'}); it may have been "
                "published, rejected or withdrawn. Remove it from previews= or "
                "CONFIG_CONSOLE_PREVIEW to read the live value.",
                status=404,
            )
        if status == 404:
            # The server's word is final: the config is gone or no longer readable.
            with self._lock:
                self._entries.pop(read, None)
            if self._keeps_on_disk(read):
                self._disk.delete(self.base_url, self._disk_identity(read))
            where = f" in environment {self.environment}" if self.environment else ""
            raise ConfigNotFound(
                f"{read.label}{where}: not found, or the token cannot read namespace "
                f"{read.namespace}{where} ({detail or 'HTTP 404'}).",
                status=404,
            )
        if status in (401, 403):
            raise AuthenticationError(
                f"Config Console at {self.base_url} refused the token for {read.label} "
                f"(HTTP {status}: {detail or 'no detail'}). Check CONFIG_CONSOLE_TOKEN: "
                "it may be wrong, expired or revoked.",
                status=status,
            )
        if status == 429 or status >= 500:
            reason = "throttled" if status == 429 else "server error"
            raise _Unreachable(
                f"HTTP {status} {reason}" + (f": {detail}" if detail else ""),
                status=status,
                retry_after=_retry_after(headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            raise ConfigConsoleError(
                f"Config Console at {self.base_url} redirected {read.label} to "
                f"{headers.get('Location')!r} (HTTP {status}); use that address as base_url.",
                status=status,
            )
        raise ConfigConsoleError(
            f"Config Console refused the read of {read.label}: HTTP {status}"
            + (f": {detail}" if detail else ""),
            status=status,
        )


# --- helpers ---------------------------------------------------------------------------------


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        raise ValueError(f"The {what} must be a non-empty string without '/', not {value!r}.")
    return value


def _version(version: int | None) -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, not {version!r}.")
    return version


def _at(at: datetime | str | None) -> str | None:
    if at is None or isinstance(at, str):
        return at
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("at= needs a timezone-aware datetime (e.g. with tzinfo=UTC).")
        return at.isoformat()
    raise ValueError(f"at= must be a datetime or an ISO 8601 string, not {at!r}.")


def _check_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(overrides, Mapping):
        raise TypeError(f"Overrides must map 'namespace/key' to a value, not {overrides!r}.")
    checked = {}
    for name, value in overrides.items():
        namespace, _, key = str(name).partition("/")
        if not namespace or not key or "/" in key:
            raise ValueError(f"Override names are 'namespace/key', not {name!r}.")
        checked[name] = copy.deepcopy(value)
    return checked


def _previews(environment: str, given: Mapping[str, int] | None) -> dict[str, int]:
    """{"ns/key": change request number} from `CONFIG_CONSOLE_PREVIEW` ("ns/key=17,…") and
    `previews=`, which wins for a config named in both."""
    found: dict[str, Any] = {}
    for part in environment.split(","):
        if part.strip():
            name, equals, number = part.strip().rpartition("=")
            if not equals or not number.strip().isdigit():
                raise ValueError(
                    f"CONFIG_CONSOLE_PREVIEW lists 'namespace/key=change request number' "
                    f"separated by commas, not {part.strip()!r}."
                )
            found[name.strip()] = int(number)
    if given is not None and not isinstance(given, Mapping):
        raise TypeError(f"previews must map 'namespace/key' to a change request number: {given!r}")
    found.update(given or {})
    for name, number in found.items():
        namespace, _, key = str(name).partition("/")
        if not namespace or not key or "/" in key:
            raise ValueError(f"Previews name configs as 'namespace/key', not {name!r}.")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(
                f"The preview of {name} must be a change request number, not {number!r}."
            )
    return found


def _load_overrides_file(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path).expanduser()
    try:
        overrides = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"The overrides file {path} is not valid JSON: {error}") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"The overrides file {path} must hold an object of 'namespace/key'.")
    return _check_overrides(overrides)


def _override_document(namespace: str, key: str, value: Any) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "key": key,
        "version": None,
        "value": value,
        "effective_at": None,
        "published_at": None,
        "published_by": None,
        "schema": None,
        "overridden": True,
    }


def _body(response) -> bytes:
    body = response.read()
    if body and (response.headers.get("Content-Encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    return body


def _parse_document(read: _Read, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    valid = isinstance(document, dict) and (
        "value" in document if read.kind == "config" else isinstance(document.get("configs"), dict)
    )
    if not valid:
        raise ConfigConsoleError(
            f"The answer for {read.label} is not a Config Console document; is base_url the "
            f"console's address? It began: {body[:80]!r}",
            status=200,
        )
    return document


def _detail(body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(document, dict):
        if "detail" in document:
            return str(document["detail"])
        if "errors" in document:
            return "; ".join(
                f"{error.get('path', '')}: {error.get('message', '')}"
                if isinstance(error, dict)
                else str(error)
                for error in document["errors"]
            )
    return str(document)[:200]


def _retry_after(header: str | None) -> float:
    if not header:
        return 0.0
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _warn_stale(base_url: str, read: _Read, entry: _Entry) -> None:
    document = json.loads(entry.document_json)
    version = document.get("version") if read.kind == "config" else None
    what = read.label + (f" (version {version})" if version is not None else "")
    confirmed = datetime.fromtimestamp(entry.confirmed_at, UTC)
    message = (
        f"Config Console at {base_url} could not be reached ({entry.unreachable}); using the "
        f"last-known-good copy of {what}, confirmed at {confirmed:%Y-%m-%d %H:%M:%S} UTC "
        f"({_age(time.time() - entry.confirmed_at)} ago), from {entry.origin}. "
        "It may be stale."
    )
    warnings.warn(message, ServerUnreachableWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The stacklevel that points a warning at the caller's line, outside this module."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        level += 1
        frame = frame.f_back
    return level


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
