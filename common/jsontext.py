"""Strict JSON parsing for everything people and machines send us.

Python's `json` accepts NaN and Infinity, turns 1e999 into inf, silently keeps the last of two
duplicate keys and overflows the stack on deep nesting. None of that is JSON a config can hold.
"""

from __future__ import annotations

import json
import math
import re
import sys
from decimal import Decimal
from typing import Any

from common.errors import DomainError

MAX_DEPTH = 64


class BadJSON(DomainError, ValueError):
    """Text that is not acceptable JSON; the message says why in plain words."""


def _no_constants(name: str):
    raise BadJSON(f"{name} is not allowed in JSON; use a number or null.")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise BadJSON(f"The key {key!r} appears twice in the same object.")
        result[key] = value
    return result


# A decimal of at most this many significant digits, in the normal range, always comes back
# from a double unchanged (C's DBL_DIG); only longer or tinier ones need the exact comparison.
_ALWAYS_KEPT_DIGITS = 15
_MANTISSA = re.compile(r"-?(\d*)\.?(\d*)")


class _Inexact(float):
    """A number the parser had to round: kept until the parse ends, so the error names where."""

    text: str


def _finite(text: str, inexact_seen: list[bool]) -> float:
    number = float(text)
    if math.isinf(number):
        raise BadJSON(f"The number {text[:40]} is too large.")
    if _kept_exactly(text, number):
        return number
    inexact = _Inexact(number)
    inexact.text = text
    inexact_seen.append(True)
    return inexact


def _kept_exactly(text: str, number: float) -> bool:
    """Whether the double `number` is the number `text` spells (1.10 and 1.1e0 are 1.1): a
    value silently changed on its way into storage is refused instead, as a huge integer is."""
    match = _MANTISSA.match(text)
    digits = (match.group(1) + match.group(2)).lstrip("0") if match else text
    if len(digits) <= _ALWAYS_KEPT_DIGITS and (not digits or sys.float_info.min <= abs(number)):
        return True
    return Decimal(text) == Decimal(repr(number))


def _refuse_inexact_numbers(value: Any) -> None:
    """Name where the first number that a double cannot hold exactly is."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Inexact):
            text = node.text if len(node.text) <= 40 else f"{node.text[:20]}…"
            raise BadJSON(
                f"{'At ' + path + ': t' if path else 'T'}he number {text} cannot be kept exactly "
                f"(it would be stored as {float(node)!r}): a number has at most 17 significant "
                "digits and lies between about 1e-308 and 1e308. Send fewer digits, or the "
                "number as a string."
            )
        if isinstance(node, dict):
            stack.extend((item, f"{path}/{_escape(key)}") for key, item in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(
                (item, f"{path}/{index}") for index, item in reversed(list(enumerate(node)))
            )


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _integer(text: str) -> int:
    # Python refuses to read an integer of more digits than this with a bare ValueError.
    limit = sys.get_int_max_str_digits()
    digits = len(text.lstrip("-"))
    if limit and digits > limit:
        raise BadJSON(f"The number {text[:20]}… has {digits} digits; at most {limit} are allowed.")
    return int(text)


# Half of a UTF-16 pair on its own ("\ud800"): JSON can spell it, no text can hold it. Only text
# with a surrogate escape can hold one, so only that text is walked for it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            lone = _LONE_SURROGATE.search(node)
            if lone:
                raise BadJSON(
                    f"Text may not contain a lone surrogate (\\u{ord(lone.group()):04x}): it is "
                    "half of a character. Send the whole character instead."
                )
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


# Strings, whose brackets do not nest anything; then anything that is not a bracket.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"[\[{][\]}]")
# \u0000 escaped in the text (after an even number of backslashes, so not "\\u0000").
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _bracket_depth_exceeds(text: str, limit: int) -> bool:
    """A cheap pre-check so deep nesting never reaches the recursive parser.

    Each pass removes the innermost pairs of brackets, so `limit` passes empty the brackets of
    any text nested no deeper than that. Regular expressions do the work in C: a megabyte of
    small arrays costs milliseconds, where a loop over its characters took most of a second."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    left = brackets
    for _ in range(limit):
        if not left:
            return False
        left = _INNERMOST.sub("", left)
    if not left:
        return False
    # Unbalanced (truncated or not JSON at all) or deep: only counting tells which, and the
    # parser explains the first.
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
    return False


def parse_json(text: str | bytes) -> Any:
    """Parse `text` as strict JSON or raise BadJSON with a message for a person."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJSON("The body is not UTF-8 text.") from exc
    if not text.strip():
        raise BadJSON("Enter a JSON value.")
    if _bracket_depth_exceeds(text, MAX_DEPTH):
        raise BadJSON(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
    inexact_seen: list[bool] = []
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicates,
            parse_float=lambda text: _finite(text, inexact_seen),
            parse_int=_integer,
        )
    except json.JSONDecodeError as exc:
        raise BadJSON(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise BadJSON(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from exc
    if inexact_seen:
        _refuse_inexact_numbers(value)
    if _NUL_ESCAPE.search(text):
        # PostgreSQL cannot store it; a raw NUL is already refused by the parser.
        raise BadJSON("Text may not contain the NUL character (\\u0000).")
    if _SURROGATE_ESCAPE.search(text) or _LONE_SURROGATE.search(text):
        _refuse_lone_surrogates(value)
    return value
