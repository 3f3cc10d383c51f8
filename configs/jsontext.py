"""Strict JSON parsing for everything people and machines send us.

Python's `json` accepts NaN and Infinity, turns 1e999 into inf, silently keeps the last of two
duplicate keys, overflows the stack on deep nesting, raises a bare ValueError on integers of
more than 4,300 digits, and accepts lone surrogates that PostgreSQL then refuses to store. None
of that is JSON a config can hold.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

MAX_DEPTH = 64


class BadJSON(ValueError):
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


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise BadJSON(f"The number {text[:40]} is too large.")
    return number


def _integer(text: str) -> int:
    # Python refuses to read an integer of more digits than this with a bare ValueError.
    limit = sys.get_int_max_str_digits()
    digits = len(text.lstrip("-"))
    if limit and digits > limit:
        raise BadJSON(f"The number {text[:20]}… has {digits} digits; at most {limit} are allowed.")
    return int(text)


# Half of a UTF-16 pair on its own ("\ud800"): JSON can spell it, no text can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep `value` nests; also refuses NUL characters and lone surrogates, which
    PostgreSQL cannot store."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise BadJSON("Text may not contain the NUL character (\\u0000).")
            lone = _LONE_SURROGATE.search(node)
            if lone:
                raise BadJSON(
                    f"Text may not contain a lone surrogate (\\u{ord(lone.group()):04x}): it is "
                    "half of a character. Send the whole character instead."
                )
        elif isinstance(node, (dict, list)):
            if depth > limit:
                raise BadJSON(f"The JSON is nested more than {limit} levels deep.")
            deepest = max(deepest, depth)
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
                children = node.values()
            else:
                children = node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _bracket_depth_exceeds(text: str, limit: int) -> bool:
    # A cheap pre-check so deep nesting never reaches the recursive parser.
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
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
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_int=_integer,
        )
    except json.JSONDecodeError as exc:
        raise BadJSON(
            f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise BadJSON(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from exc
    _depth(value)
    return value
