"""Configs as OpenFeature flags (OFREP v0.3): flag keys, what a context gets, and the answers.

A flag is a config a token reads. Its key is `<namespace>.<key>` always (a namespace's slug has
no dot, so the first dot splits it), and the config's bare key where the token reads exactly one
namespace (DESIGN). A bare key from a token that reads several namespaces is not a flag, even
where only one of them has such a config: adding a namespace to a token then never changes which
config a key names; the answer is FLAG_NOT_FOUND naming the `<namespace>.<key>` forms it may
have meant. The bulk answer names flags the way single evaluations accept them.

Versions never change, so each version's flag (its value bytes, overrides) is read from the
database once per process, and an answer without overrides is prepared once per flag key.
The environment is the token's (DESIGN), and each answer's `metadata` names it: a version
belongs to one environment, so it is part of the version's flag.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config_console_client import evaluation as engine
from django.conf import settings
from django.db.models import Q

from common.jsontext import BadJSON, parse_json
from common.kept import KeptByBody
from configs import environments
from configs.models import Config, Namespace, Version

STATIC = engine.STATIC
STREAM_SALT = "config-console.ofrep-stream"  # signs the event stream's tickets
DEFAULT_VARIANT = engine.DEFAULT_VARIANT
# Each process keeps versions' flags and prepared answers up to PREPARED_CACHE_BYTES each (a
# count would let a few 1 MiB values take gigabytes), least recently made first out.
ENTRY_OVERHEAD = 400  # bytes a kept entry costs beyond its value's


class FlagError(Exception):
    """An evaluation that has no value: OFREP's error code, its HTTP status, and why."""

    def __init__(self, code: str, details: str, status: int = 400):
        super().__init__(details)
        self.code, self.details, self.status = code, details, status

    def body(self, key: str) -> dict[str, str]:
        return {"key": key, "errorCode": self.code, "errorDetails": self.details}


def flag_not_found(key: str, details: str = "") -> FlagError:
    return FlagError(
        "FLAG_NOT_FOUND", details or f"No flag {key!r}, or this token does not read it.", 404
    )


@dataclass(frozen=True, slots=True)
class Flag:
    """One published version, as a flag."""

    version_id: int
    namespace: str
    key: str
    number: int
    value_json: str
    overrides: tuple[dict, ...]
    environment: str  # the name of the version's environment


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# --- Flag keys -----------------------------------------------------------------------------


def flag_key(namespace: str, key: str, namespaces: tuple[str, ...]) -> str:
    """How a config is named as a flag to a token reading `namespaces`."""
    return key if len(namespaces) == 1 else f"{namespace}.{key}"


def resolve(flag: str, namespaces: tuple[str, ...]) -> tuple[str, str]:
    """(namespace, key) a flag key names for a token reading `namespaces`; FLAG_NOT_FOUND when
    it names none of them (whether the config exists is asked afterwards)."""
    namespace, dot, key = flag.partition(".")
    if dot:
        if namespace in namespaces and key:
            return namespace, key
        raise flag_not_found(flag)
    if len(namespaces) == 1:
        return namespaces[0], flag
    holding = Config.objects.filter(namespace__slug__in=namespaces, key=flag)
    forms = [f"{slug}.{flag}" for slug in holding.values_list("namespace__slug", flat=True)]
    raise flag_not_found(
        flag,
        f"This token reads {len(namespaces)} namespaces, so a flag is named <namespace>.<key>"
        + (f": {' or '.join(sorted(forms))}." if forms else f"; none of them has {flag!r}."),
    )


def readable_namespaces(*, token_id: int, user_id: int, superuser: bool) -> tuple[str, ...]:
    """The slugs of the namespaces the token reaches and its person has a role in, sorted."""
    reached = Namespace.objects.filter(api_tokens=token_id)
    if not superuser:
        reached = reached.filter(Q(memberships__user_id=user_id))
    return tuple(sorted(set(reached.values_list("slug", flat=True))))


# --- Flags by version ------------------------------------------------------------------------

_flags: OrderedDict[int, Flag] = OrderedDict()
_answers: OrderedDict[tuple[int, str, str, str], bytes] = OrderedDict()
_sizes = {"flags": 0, "answers": 0}
_lock = threading.Lock()


def forget() -> None:
    """Empty this process's flags (tests reuse ids after rolling back)."""
    with _lock:
        _flags.clear()
        _answers.clear()
        _sizes.update(flags=0, answers=0)
        _kept_context.forget()


def _has_overrides() -> bool:
    return any(field.name == "overrides" for field in Version._meta.concrete_fields)


def _flag_size(flag: Flag) -> int:
    return len(flag.value_json) + len(json.dumps(flag.overrides)) + ENTRY_OVERHEAD


def flags_of(version_ids: list[int]) -> dict[int, Flag]:
    """The flag of each version id: from this process, or in one query."""
    found: dict[int, Flag] = {}
    with _lock:
        for version_id in version_ids:
            kept = _flags.get(version_id)
            if kept is not None:
                found[version_id] = kept
    missing = [version_id for version_id in version_ids if version_id not in found]
    if missing:
        columns = [
            "id",
            "number",
            "value_json",
            "config__key",
            "config__namespace__slug",
            "environment_id",
        ]
        with_overrides = _has_overrides()
        if with_overrides:
            columns.append("overrides")
        rows = list(Version.objects.filter(pk__in=missing).values_list(*columns))
        with _lock:
            for row in rows:
                overrides = tuple(row[6] or ()) if with_overrides else ()
                environment = environments.by_id(row[5]).name
                flag = Flag(row[0], row[4], row[3], row[1], row[2], overrides, environment)
                if flag.version_id not in _flags:
                    _sizes["flags"] += _flag_size(flag)
                found[flag.version_id] = _flags[flag.version_id] = flag
            while _sizes["flags"] > settings.PREPARED_CACHE_BYTES and _flags:
                _sizes["flags"] -= _flag_size(_flags.popitem(last=False)[1])
    return found


def matches_patterns(flag: Flag) -> bool:
    """Whether evaluating the flag may run a `matches` pattern (bounded by its timeout)."""
    return uses_patterns(flag.overrides)


def uses_patterns(overrides: Sequence[dict]) -> bool:
    """Whether evaluating these overrides may run a `matches` pattern (bounded by its timeout,
    which would stall every request of an event loop: configs/api/hot.py leaves them to Django)."""
    return any(
        condition.get("op") == "matches"
        for override in overrides
        for condition in (override.get("when") or ())
        if isinstance(condition, dict)
    )


def kept_flag(version_id: int) -> Flag | None:
    """The version's flag if this process holds it (no query)."""
    return _flags.get(version_id)


# --- Answers ---------------------------------------------------------------------------------


def _metadata(flag: Flag) -> str:
    return _compact(
        {"namespace": flag.namespace, "version": flag.number, "environment": flag.environment}
    )


def _success(key: str, value_json: str, reason: str, variant: str, flag: Flag) -> bytes:
    return (
        f'{{"key":{_compact(key)},"value":{value_json},"reason":"{reason}",'
        f'"variant":{_compact(variant)},"metadata":{_metadata(flag)}}}'
    ).encode()


_VALUE = object()  # stands for the version's value: its stored text is served, never parsed


def evaluate(flag: Flag, key: str, context: dict) -> bytes:
    """The OFREP success body for what `context` gets of `flag`, named `key`; FlagError when it
    gets no value (a split by targetingKey without one).

    The body depends only on the version, the key, the reason and the variant (an override's
    name, or a split's bucket), so it is prepared once for each and kept."""
    if not flag.overrides:
        reason, variant, value = STATIC, DEFAULT_VARIANT, _VALUE
    else:
        result = engine.evaluate(flag.key, _VALUE, list(flag.overrides), context)
        if result.error is not None:
            raise FlagError(result.error.code, result.error.details)
        reason, variant, value = result.reason, result.variant, result.value
    kept_as = (flag.version_id, key, reason, variant)
    with _lock:
        kept = _answers.get(kept_as)
    if kept is None:
        value_json = flag.value_json if value is _VALUE else _compact(value)
        kept = _success(key, value_json, reason, variant, flag)
        with _lock:
            if kept_as not in _answers:
                _sizes["answers"] += len(kept) + ENTRY_OVERHEAD
            _answers[kept_as] = kept
            while _sizes["answers"] > settings.PREPARED_CACHE_BYTES and _answers:
                _sizes["answers"] -= len(_answers.popitem(last=False)[1]) + ENTRY_OVERHEAD
    return kept


def bulk_etag(flags: list[tuple[str, Flag]], context: dict, streams: bool) -> str:
    """One tag for what the bulk answer holds: the flags' versions and names, and the context
    when an answer depends on it."""
    parts: list[Any] = [[key, flag.version_id] for key, flag in flags]
    if any(flag.overrides for _key, flag in flags):
        parts.append(context)
    parts.append(streams)
    digest = hashlib.sha256(_compact(parts).encode()).hexdigest()[:32]
    return f'"o{digest}"'


def bulk_body(flags: list[tuple[str, Flag]], context: dict, event_streams: list[dict]) -> bytes:
    """Every flag's answer (or its error, in place), and where to hear of changes."""
    items = []
    # Every flag's patterns share one budget (see configs/api/evaluate.py).
    with engine.pattern_budget(engine.REQUEST_PATTERN_SECONDS):
        for key, flag in flags:
            try:
                items.append(evaluate(flag, key, context))
            except FlagError as error:
                items.append(_compact(error.body(key)).encode())
    tail = (
        f',"metadata":{{}},"eventStreams":{_compact(event_streams)}}}'
        if event_streams
        else ',"metadata":{}}'
    )
    return b'{"flags":[' + b",".join(items) + b"]" + tail.encode()


def parse_context(body: bytes) -> dict:
    """The request's evaluation context; FlagError PARSE_ERROR or INVALID_CONTEXT."""
    kept = _kept_context(body)
    if isinstance(kept, tuple):
        raise FlagError(*kept)
    return kept


def _parse_context(body: bytes) -> dict | tuple[str, str]:
    if not body.strip():
        return {}
    try:
        request = parse_json(body)
    except BadJSON as exc:
        return "PARSE_ERROR", f"The body is not valid JSON: {exc.for_people()}"
    if not isinstance(request, dict):
        return "PARSE_ERROR", 'The body must be a JSON object: {"context": {…}}.'
    context = request.get("context", {})
    if not isinstance(context, dict):
        return "INVALID_CONTEXT", "context must be a JSON object of attributes."
    targeting_key = context.get("targetingKey")
    if targeting_key is not None and not isinstance(targeting_key, str):
        return "INVALID_CONTEXT", "context.targetingKey must be a string."
    return context


# Providers send the same few contexts again and again: their parses (or errors) are kept by body.
_kept_context = KeptByBody(_parse_context)
