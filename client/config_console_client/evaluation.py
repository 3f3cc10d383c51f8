"""What a context gets from a config: its value, or the value of the first override matching it.

The one implementation of the rules, used by the server (the evaluate endpoints, OFREP) and by
the client (which evaluates locally from a read's `value` and `overrides`), so the two can never
answer differently. Pure Python, no dependency: `regex` is used for `matches` when installed
(always on the server), for its timeout.

An override is `{"name": …, "when": [condition, …], "value": …}` (every condition must match)
or `{"name": …, "when"?: […], "split": {"by": "targetingKey", "buckets": [{"percent": 10,
"value": …}, …]}}`. A condition is `{"attribute": …, "op": …, "values": [...]}` (or `"value"`
for one); it matches when the context's attribute matches any of the values (`not_in`: none of
them). A context without the attribute never matches a condition on it.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

try:  # Bounded regular expressions: a catastrophic pattern gives up instead of hanging.
    import regex as _regex
except ImportError:  # pragma: no cover - the client without `regex` installed
    _regex = None

PATTERN_TIMEOUT_SECONDS = 0.1
# All the `matches` of one evaluation share this much time: ten patterns that each stop just
# short of their own timeout would otherwise hold a worker for a second. Once it is spent, the
# patterns left do not match (as one that times out does not).
EVALUATION_PATTERN_SECONDS = 0.1
# …and those of a request evaluating many configs at once (a namespace, OFREP's bulk).
REQUEST_PATTERN_SECONDS = 0.5
MAX_PATTERN_LENGTH = 500
TARGETING_KEY = "targetingKey"

STATIC = "STATIC"
TARGETING_MATCH = "TARGETING_MATCH"
SPLIT = "SPLIT"
DEFAULT = "DEFAULT"
ERROR = "ERROR"
DEFAULT_VARIANT = "default"

TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
INVALID_CONTEXT = "INVALID_CONTEXT"


@dataclass(frozen=True)
class EvaluationError:
    """Why a context could not be evaluated: an OFREP error code and a sentence."""

    code: str  # TARGETING_KEY_MISSING or INVALID_CONTEXT
    details: str

    def __str__(self) -> str:
        return self.details


@dataclass(frozen=True)
class Evaluation:
    """What one context gets: the value, which variant it is, and why."""

    value: Any
    variant: str  # the matching override's name (a split: "<name>/<bucket>"), or "default"
    reason: str  # STATIC, TARGETING_MATCH, SPLIT, DEFAULT, or ERROR with `error`
    error: EvaluationError | None = None


# When the patterns of the evaluation (or of the whole request: `pattern_budget`) must be done.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "pattern_deadline", default=None
)


@contextlib.contextmanager
def pattern_budget(seconds: float) -> Iterator[None]:
    """Let every `matches` inside share `seconds` (or what is left of an enclosing budget, if
    that is less): for one evaluation, or for a request that evaluates many configs."""
    deadline = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def evaluate(key: str, value: Any, overrides: list[dict], context: dict) -> Evaluation:
    """What `context` gets from the config `key` whose value is `value` with `overrides`: the
    first override that matches serves its value, otherwise `value`. Its `matches` patterns
    share EVALUATION_PATTERN_SECONDS in all."""
    if not overrides:
        return _evaluate(key, value, overrides, context)  # no pattern to time: no budget to set
    with pattern_budget(EVALUATION_PATTERN_SECONDS):
        return _evaluate(key, value, overrides, context)


def _evaluate(key: str, value: Any, overrides: list[dict], context: dict) -> Evaluation:
    if not isinstance(context, Mapping):
        return _error(value, INVALID_CONTEXT, "The context must be a JSON object.")
    targeting_key = context.get(TARGETING_KEY)
    if targeting_key is not None and not isinstance(targeting_key, str):
        return _error(value, INVALID_CONTEXT, "The context's targetingKey must be a string.")
    if not overrides:
        return Evaluation(value=value, variant=DEFAULT_VARIANT, reason=STATIC)
    for override in overrides:
        if not all(condition_matches(c, context) for c in override.get("when") or ()):
            continue
        split = override.get("split")
        if split is None:
            return Evaluation(
                value=override.get("value"), variant=str(override["name"]), reason=TARGETING_MATCH
            )
        by = split.get("by", TARGETING_KEY)
        if context.get(by) is None:
            if by == TARGETING_KEY:
                return _error(
                    value,
                    TARGETING_KEY_MISSING,
                    f"The override {override['name']!r} splits by targetingKey, and the context "
                    "has none.",
                )
            continue
        number, bucket = _bucket(key, context[by], split["buckets"])
        name = bucket.get("name") or str(number + 1)
        return Evaluation(
            value=bucket.get("value"), variant=f"{override['name']}/{name}", reason=SPLIT
        )
    return Evaluation(value=value, variant=DEFAULT_VARIANT, reason=DEFAULT)


def _error(value: Any, code: str, details: str) -> Evaluation:
    return Evaluation(
        value=value,
        variant=DEFAULT_VARIANT,
        reason=ERROR,
        error=EvaluationError(code=code, details=details),
    )


def bucket_position(key: str, attribute_value: Any) -> float:
    """Where a context falls in [0, 100) for the config `key`: a stable hash of the attribute's
    value and the key, the same on every server, client and run."""
    text = attribute_value if isinstance(attribute_value, str) else _canonical(attribute_value)
    digest = hashlib.sha256(f"{key}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _bucket(key: str, attribute_value: Any, buckets: list[dict]) -> tuple[int, dict]:
    position = bucket_position(key, attribute_value)
    upper = 0.0
    for number, bucket in enumerate(buckets):
        upper += float(bucket["percent"])
        if position < upper:
            return number, bucket
    return len(buckets) - 1, buckets[-1]  # percentages adding up to 100 with rounding


# -- Conditions ----------------------------------------------------------------------------


def condition_values(condition: Mapping[str, Any]) -> list[Any]:
    """A condition's values: `values`, or its single `value`."""
    if "values" in condition:
        values = condition["values"]
        return list(values) if isinstance(values, list) else [values]
    return [condition.get("value")]


def condition_matches(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Whether `context` meets one condition of an override."""
    attribute = condition.get("attribute")
    if attribute not in context or context[attribute] is None:
        return False
    actual = context[attribute]
    op = condition.get("op")
    values = condition_values(condition)
    if op == "not_in":
        return not any(_equal(actual, v) for v in values)
    test = _TESTS.get(str(op))
    if test is None:
        return False
    return any(test(actual, v) for v in values)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def _strings(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        return isinstance(actual, str) and isinstance(expected, str) and test(actual, expected)

    return check


def _numbers(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        return _is_number(actual) and _is_number(expected) and test(actual, expected)

    return check


def _parsed(parse: Callable[[Any], Any], test: Callable[[Any, Any], bool]):
    def check(actual: Any, expected: Any) -> bool:
        a, e = parse(actual), parse(expected)
        return a is not None and e is not None and test(a, e)

    return check


def pattern_problem(pattern: Any) -> str | None:
    """Why `pattern` cannot be used by `matches`, in words, or None."""
    if not isinstance(pattern, str):
        return "a pattern must be text"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"a pattern may be at most {MAX_PATTERN_LENGTH} characters long"
    try:
        (_regex or re).compile(pattern)
    except (re.error, getattr(_regex, "error", re.error)) as exc:
        return f"{pattern!r} is not a valid regular expression: {exc}"
    return None


def _matches(actual: str, pattern: str) -> bool:
    if pattern_problem(pattern):
        return False
    if _regex is None:  # pragma: no cover - the client without `regex` installed
        return re.search(pattern, actual) is not None
    timeout = PATTERN_TIMEOUT_SECONDS
    deadline = _deadline.get()
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout <= 0:
            return False  # the evaluation's time for patterns is spent
    try:
        return _regex.search(pattern, actual, timeout=timeout) is not None
    except TimeoutError:
        return False  # a pattern that cannot decide in time does not match


_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


def parse_semver(text: Any) -> tuple | None:
    """A semantic version as a tuple that sorts by precedence (semver.org §11), or None."""
    if not isinstance(text, str):
        return None
    found = _SEMVER.match(text.strip())
    if not found:
        return None
    major, minor, patch, pre = found.groups()
    core = (int(major), int(minor), int(patch))
    if pre is None:
        return (*core, 1, ())  # a release sorts after its pre-releases
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*core, 0, parts)


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 instant (no zone: UTC) or Unix seconds, as an aware datetime, or None."""
    if _is_number(value):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "in": _equal,
    "equals": _equal,
    "starts_with": _strings(str.startswith),
    "ends_with": _strings(str.endswith),
    "matches": _strings(_matches),
    "lt": _numbers(lambda a, e: a < e),
    "lte": _numbers(lambda a, e: a <= e),
    "gt": _numbers(lambda a, e: a > e),
    "gte": _numbers(lambda a, e: a >= e),
    "semver_lt": _parsed(parse_semver, lambda a, e: a < e),
    "semver_gte": _parsed(parse_semver, lambda a, e: a >= e),
    "before": _parsed(parse_instant, lambda a, e: a < e),
    "after": _parsed(parse_instant, lambda a, e: a > e),
}
OPERATORS = ("not_in", *_TESTS)


# -- The shape of overrides (the server refuses others before they are stored) ---------------

_SCALAR_OPS = {"in", "not_in", "equals"}
_TEXT_OPS = {"starts_with", "ends_with", "matches"}
_NUMBER_OPS = {"lt", "lte", "gt", "gte"}
_SEMVER_OPS = {"semver_lt", "semver_gte"}
_INSTANT_OPS = {"before", "after"}
MAX_NAME_LENGTH = 100


def served_values(overrides: list[dict]) -> list[tuple[str, Any]]:
    """Every value the overrides can serve, with its JSON Pointer (`/overrides/0/value`,
    `/overrides/1/split/buckets/0/value`), for checking against the config's schema."""
    found: list[tuple[str, Any]] = []
    for n, override in enumerate(overrides):
        if not isinstance(override, Mapping):
            continue
        if "value" in override:
            found.append((f"/overrides/{n}/value", override["value"]))
        split = override.get("split")
        buckets = split.get("buckets") if isinstance(split, Mapping) else None
        for b, bucket in enumerate(buckets if isinstance(buckets, list) else ()):
            if isinstance(bucket, Mapping) and "value" in bucket:
                found.append((f"/overrides/{n}/split/buckets/{b}/value", bucket["value"]))
    return found


def overrides_problems(overrides: Any) -> list[dict[str, str]]:
    """Every problem with the shape of `overrides` (not their values' schema), as
    `[{path, message}]` with JSON Pointers under `/overrides`."""
    if not isinstance(overrides, list):
        return [{"path": "/overrides", "message": "Overrides must be a list."}]
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, override in enumerate(overrides):
        at = f"/overrides/{n}"
        if not isinstance(override, Mapping):
            problems.append({"path": at, "message": "An override must be a JSON object."})
            continue
        name = override.get("name")
        label = f"Override {n + 1}"
        if not isinstance(name, str) or not name.strip():
            problems.append({"path": f"{at}/name", "message": f"{label} needs a name."})
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(
                {"path": f"{at}/name", "message": f"{label}: a name is at most 100 characters."}
            )
        elif name == DEFAULT_VARIANT:
            problems.append(
                {"path": f"{at}/name", "message": f'{label}: "default" names the plain value.'}
            )
        elif name in seen:
            problems.append(
                {"path": f"{at}/name", "message": f"{label}: another override is named {name!r}."}
            )
        else:
            seen.add(name)
            label = f"Override {name!r}"
        problems += _override_problems(at, label, override)
    return problems


def _override_problems(at: str, label: str, override: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = [
        {"path": f"{at}/{k}", "message": f"{label}: {k!r} is not a field of an override."}
        for k in override
        if k not in ("name", "when", "value", "split")
    ]
    has_value, split = "value" in override, override.get("split")
    if has_value == (split is not None):
        problems.append(
            {"path": at, "message": f"{label}: give either a value or a split, not both."}
            if has_value
            else {"path": at, "message": f"{label}: give the value it serves (or a split)."}
        )
    when = override.get("when")
    if when is None and has_value:
        problems.append({"path": f"{at}/when", "message": f"{label}: say whom it is for."})
    elif when is not None and (not isinstance(when, list) or (has_value and not when)):
        problems.append(
            {"path": f"{at}/when", "message": f"{label}: conditions must be a non-empty list."}
        )
    for c, condition in enumerate(when if isinstance(when, list) else ()):
        problems += _condition_problems(f"{at}/when/{c}", label, condition)
    if split is not None:
        problems += _split_problems(f"{at}/split", label, split)
    return problems


def _condition_problems(at: str, label: str, condition: Any) -> list[dict[str, str]]:
    if not isinstance(condition, Mapping):
        return [{"path": at, "message": f"{label}: a condition must be a JSON object."}]
    problems = [
        {"path": f"{at}/{k}", "message": f"{label}: {k!r} is not a field of a condition."}
        for k in condition
        if k not in ("attribute", "op", "values", "value")
    ]
    attribute, op = condition.get("attribute"), condition.get("op")
    if not isinstance(attribute, str) or not attribute.strip():
        problems.append({"path": f"{at}/attribute", "message": f"{label}: name an attribute."})
    if op not in OPERATORS:
        problems.append(
            {
                "path": f"{at}/op",
                "message": f"{label}: the operator must be one of {', '.join(OPERATORS)}.",
            }
        )
        return problems
    if "values" in condition and "value" in condition:
        problems.append({"path": at, "message": f"{label}: give values or value, not both."})
    values = condition.get("values", condition.get("value"))
    where = f"{at}/values" if "values" in condition else f"{at}/value"
    if "values" in condition and (not isinstance(values, list) or not values):
        return problems + [{"path": where, "message": f"{label}: values must be a non-empty list."}]
    for v, item in enumerate(condition_values(condition)):
        wrong = _value_problem(str(op), item)
        if wrong:
            path = f"{where}/{v}" if "values" in condition else where
            problems.append({"path": path, "message": f"{label}: {wrong}."})
    return problems


def _value_problem(op: str, item: Any) -> str | None:
    if op in _SCALAR_OPS:
        ok = isinstance(item, (str, bool)) or _is_number(item)
        return None if ok else "compare with text, a number or yes/no"
    if op in ("starts_with", "ends_with"):
        return None if isinstance(item, str) else "compare with text"
    if op == "matches":
        return pattern_problem(item)
    if op in _NUMBER_OPS:
        return None if _is_number(item) else "compare with a number"
    if op in _SEMVER_OPS:
        return None if parse_semver(item) else f"{item!r} is not a version such as 1.4.0"
    if op in _INSTANT_OPS:
        ok = isinstance(item, str) and parse_instant(item)
        return None if ok else f"{item!r} is not a date and time such as 2026-12-01T00:00:00Z"
    return None


def _split_problems(at: str, label: str, split: Any) -> list[dict[str, str]]:
    if not isinstance(split, Mapping):
        return [{"path": at, "message": f"{label}: a split must be a JSON object."}]
    problems = [
        {"path": f"{at}/{k}", "message": f"{label}: {k!r} is not a field of a split."}
        for k in split
        if k not in ("by", "buckets")
    ]
    by = split.get("by", TARGETING_KEY)
    if not isinstance(by, str) or not by.strip():
        problems.append({"path": f"{at}/by", "message": f"{label}: split by an attribute."})
    buckets = split.get("buckets")
    if not isinstance(buckets, list) or not buckets:
        problems.append({"path": f"{at}/buckets", "message": f"{label}: give the buckets."})
        return problems
    total = 0.0
    names: set[str] = set()
    for b, bucket in enumerate(buckets):
        where = f"{at}/buckets/{b}"
        if not isinstance(bucket, Mapping):
            problems.append({"path": where, "message": f"{label}: a bucket is a JSON object."})
            continue
        problems += [
            {"path": f"{where}/{k}", "message": f"{label}: {k!r} is not a field of a bucket."}
            for k in bucket
            if k not in ("percent", "value", "name")
        ]
        percent = bucket.get("percent")
        if not _is_number(percent) or not 0 <= percent <= 100:
            problems.append(
                {"path": f"{where}/percent", "message": f"{label}: a percent from 0 to 100."}
            )
        else:
            total += percent
        if "value" not in bucket:
            problems.append({"path": where, "message": f"{label}: give each bucket its value."})
        name = bucket.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip() or name in names):
            problems.append(
                {"path": f"{where}/name", "message": f"{label}: bucket names are distinct text."}
            )
        if isinstance(name, str):
            names.add(name)
    if not problems and abs(total - 100) > 1e-9:
        problems.append(
            {"path": f"{at}/buckets", "message": f"{label}: the percentages must add up to 100."}
        )
    return problems
