"""The read path: each version's response bytes are prepared once and then only looked up.

A version never changes, so its prepared bytes are kept by version id: in this process first,
then in the shared cache (Redis when configured) for the other app servers. Which version is
live is asked of the database on every request (see lookup.py), so a publish or a
scheduled version taking effect is seen at once, on every server, with nothing to invalidate.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from configs import environments
from configs.models import Version, canonical_json

# Each process keeps prepared versions and whole bundles up to a number of bytes (settings
# PREPARED_CACHE_BYTES and BUNDLE_CACHE_BYTES), not of entries: a count would either let one
# namespace of 10,000 configs push every other namespace out, or waste memory on small values.
ENTRY_OVERHEAD = 400  # bytes a kept entry costs beyond its own bytes (objects, dict slots)
# Versions never change, so this only bounds how long old versions occupy the shared cache
# (a day after they were prepared; the next read prepares them again).
SHARED_FOR = 24 * 3600
BYTES_FORMAT = 4  # bump when Prepared or the bytes' shape changes
# The ASGI scope key Django's hot views set when they answered a request configs/api/hot.py
# could have answered (it then keeps the answer's headers).
ANSWERED_HOT = "config_console.hot_read"


@dataclass(frozen=True)
class Prepared:
    etag: str
    document: bytes  # {namespace, key, environment, version, value, overrides, ...}
    value: bytes  # the bare value
    entry: bytes  # {version, value, overrides, effective_at}, for bundles
    overrides: bytes  # the overrides alone ([] when none), for evaluations
    number: int  # the version's number


_local: OrderedDict[int, Prepared] = OrderedDict()
_local_bytes = 0
# (namespace, environment) -> (bundle ETag, the whole bundle's bytes), least recently used first.
_bundles: OrderedDict[tuple[str, str], tuple[str, bytes]] = OrderedDict()
_bundles_bytes = 0
_local_lock = Lock()


def forget_prepared() -> None:
    """Empty this process's copy (tests reuse ids after rolling back)."""
    global _local_bytes, _bundles_bytes
    with _local_lock:
        _local.clear()
        _bundles.clear()
        _local_bytes = _bundles_bytes = 0


def _size(item: Prepared) -> int:
    return (
        len(item.document) + len(item.value) + len(item.entry) + len(item.overrides)
    ) + ENTRY_OVERHEAD


def etag_for(version_id: int) -> str:
    return f'"v{version_id}"'


def timestamp(value) -> str | None:
    # The same form as DRF's DateTimeField, so every endpoint writes times alike.
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def compact(data) -> str:
    # The same form as Version.value_json, so an answer reads as one document.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# What a prepared version is made of, read as plain rows: building model instances (and parsing
# each value, its schema and its schema version from JSON for nothing) made the first read of a
# 4,000-config bundle take over a second; the stored text of the value is used as it is.
_ROW = (
    "id",
    "number",
    "value_json",
    "published_by__username",
    "schema__name",
    "schema_version__number",
    "config__key",
    "config__namespace__slug",
    "overrides",
    "environment_id",
)
# PostgreSQL writes the two times as `timestamp()` does (ISO 8601 in UTC with Z, microseconds
# only when there are some): loading 8,000 timestamps into datetimes and writing them out again
# cost a fifth of a cold 4,000-config bundle.
_ISO_TEXT = (
    "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN mod(date_part('microseconds', {0})::bigint, 1000000) = 0 THEN ''"
    " ELSE to_char({0} AT TIME ZONE 'UTC', '.US') END || 'Z'"
)


@lru_cache(maxsize=4096)
def _quoted(text: str | None) -> str:
    """A string as JSON (`compact`), remembered: names of people, schemas and namespaces recur."""
    return compact(text)


def _prepare(row: tuple) -> Prepared:
    pk, number, value_json, published_by, schema, schema_version, key, namespace = row[:8]
    overrides_list, environment_id, effective_at, published_at = row[8:]
    environment = _quoted(environments.by_id(environment_id).name)
    head = (
        f'{{"namespace":{_quoted(namespace)},"key":{compact(key)},'
        f'"environment":{environment},"version":{number}'
    )
    # Both times are ISO 8601 texts (or None) that need no escaping.
    effective = "null" if effective_at is None else f'"{effective_at}"'
    published = "null" if published_at is None else f'"{published_at}"'
    tail = (
        f'"effective_at":{effective},"published_at":{published},'
        f'"published_by":{_quoted(published_by)},"schema":{_quoted(schema)},'
        f'"schema_version":{"null" if schema_version is None else schema_version}}}'
    )
    value = value_json.encode()
    overrides = canonical_json(overrides_list or []).encode() if overrides_list else b"[]"
    document = (
        f"{head},".encode()
        + b'"value":'
        + value
        + b',"overrides":'
        + overrides
        + b","
        + tail.encode()
    )
    entry = (
        f'{{"version":{number},"value":'.encode()
        + value
        + b',"overrides":'
        + overrides
        + f',"effective_at":{effective}}}'.encode()
    )
    return Prepared(
        etag=etag_for(pk),
        document=document,
        value=value,
        entry=entry,
        overrides=overrides,
        number=number,
    )


def _built(ids) -> dict[int, Prepared]:
    """Prepared bytes of each version id, from the database: one query of plain rows."""
    ids = list(ids)
    versions = Version.objects.all()
    if connections[versions.db].vendor == "postgresql":
        # One array parameter: psycopg parses a statement of 4,000 placeholders (`IN (%s, …)`)
        # in Python, which took longer than running it (0.3 s of a cold 4,000-config bundle).
        versions = versions.filter(
            RawSQL("configs_version.id = ANY(%s)", (ids,), output_field=BooleanField())
        ).annotate(
            effective_text=RawSQL(_ISO_TEXT.format("configs_version.effective_at"), ()),
            published_text=RawSQL(_ISO_TEXT.format("configs_version.published_at"), ()),
        )
        rows = versions.values_list(*_ROW, "effective_text", "published_text")
        return {row[0]: _prepare(row) for row in rows}
    rows = versions.filter(pk__in=ids).values_list(*_ROW, "effective_at", "published_at")
    return {row[0]: _prepare((*row[:10], timestamp(row[10]), timestamp(row[11]))) for row in rows}


def _remember(prepared: dict[int, Prepared]) -> None:
    global _local_bytes
    budget = settings.PREPARED_CACHE_BYTES
    with _local_lock:
        for version_id, item in prepared.items():
            old = _local.pop(version_id, None)
            if old is not None:
                _local_bytes -= _size(old)
            _local[version_id] = item
            _local_bytes += _size(item)
        while _local_bytes > budget and _local:
            _version_id, old = _local.popitem(last=False)
            _local_bytes -= _size(old)


def _shared_key(version_id: int, naming: str) -> str:
    # The format is in the key: servers running the next release never unpickle this one's; so
    # are the environments' names (environments.naming()), which the bytes hold.
    return f"version:{BYTES_FORMAT}:{naming}:{version_id}"


def prepared_many(ids) -> dict[int, Prepared]:
    """Prepared bytes for each version id: from this process, the shared cache, or the database."""
    found = {}
    with _local_lock:
        for version_id in ids:
            if version_id in _local:
                found[version_id] = _local[version_id]
    missing = [version_id for version_id in ids if version_id not in found]
    if missing:
        naming = environments.naming()
        keys = {_shared_key(version_id, naming): version_id for version_id in missing}
        fetched = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
        to_build = [version_id for version_id in missing if version_id not in fetched]
        if to_build:
            built = _built(to_build)
            cache.set_many(
                {_shared_key(pk, naming): item for pk, item in built.items()}, timeout=SHARED_FOR
            )
            fetched.update(built)
        _remember(fetched)
        found.update(fetched)
    return found


def prepared(version_id: int) -> Prepared:
    return prepared_many([version_id])[version_id]


def bundle_etag(live: Sequence[tuple[str, int]], environment: str) -> str:
    """One tag for a namespace's set of live versions in `environment` (its name): it changes
    when any of them does, and differs between environments even where their values are equal
    (an empty bundle included), since the answers name their environment."""
    digest = hashlib.sha256(compact([environment, live]).encode()).hexdigest()[:32]
    return f'"b{digest}"'


def bundle_bytes(
    namespace: str, environment: str, live: Sequence[tuple[str, int]], etag: str | None = None
) -> bytes:
    """The namespace's bundle in `environment` (its name): kept whole in this process while its
    live versions stay the same, so a warm bundle costs no lookup per config. `etag`:
    bundle_etag(live, environment), when known."""
    etag = etag or bundle_etag(live, environment)
    place = (namespace, environment)
    with _local_lock:
        kept = _bundles.get(place)
        if kept is not None and kept[0] == etag:
            _bundles.move_to_end(place)
            return kept[1]
    items = prepared_many([version_id for _key, version_id in live])
    parts = [compact(key).encode() + b":" + items[version_id].entry for key, version_id in live]
    head = f'{{"namespace":{compact(namespace)},"environment":{compact(environment)},"configs":{{'
    body = head.encode() + b",".join(parts) + b"}}"
    _keep_bundle(place, etag, body)
    return body


def _keep_bundle(place: tuple[str, str], etag: str, body: bytes) -> None:
    """Keep the whole bundle, pushing out the least recently read namespaces' bundles to stay
    within BUNDLE_CACHE_BYTES; a bundle larger than all of it is not kept (never half of it)."""
    global _bundles_bytes
    budget = settings.BUNDLE_CACHE_BYTES
    with _local_lock:
        old = _bundles.pop(place, None)
        if old is not None:
            _bundles_bytes -= len(old[1])
        if len(body) > budget:
            return
        _bundles[place] = (etag, body)
        _bundles_bytes += len(body)
        while _bundles_bytes > budget:
            _place, (_etag, dropped) = _bundles.popitem(last=False)
            _bundles_bytes -= len(dropped)


def bundle_here(namespace: str, environment: str, etag: str) -> bytes | None:
    """The namespace's whole bundle in `environment` if this process keeps it for these live
    versions (no cache, no database)."""
    place = (namespace, environment)
    with _local_lock:
        kept = _bundles.get(place)
        if kept is None or kept[0] != etag:
            return None
        _bundles.move_to_end(place)
        return kept[1]


def prepared_here(version_id: int) -> Prepared | None:
    """The version's prepared bytes if this process holds them (no cache, no database)."""
    with _local_lock:
        return _local.get(version_id)


def etag_matches(request, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")  # request.headers builds a whole dict
    return etag_header_matches(header, etag)


def etag_header_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header's value names `etag`."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison, as RFC 9110 asks for If-None-Match.
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates
