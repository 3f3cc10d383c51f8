"""Regular expressions described in words, for people who do not read them.

`describe("^[a-z0-9_-]{2,64}$")` gives "use lowercase letters, digits, - or _; 2–64
characters". Only the simple shapes schemas use for identifiers are described (anchored
sequences of literal text and character sets, each optionally repeated); for anything else
`describe` returns None and the caller falls back to the schema's own message or examples.

The pattern is read by Python's own regular-expression parser (`re._parser`, the one `re`
compiles with) rather than by a hand-written one; it is private to the standard library, so any
surprise from it only means "not described".
"""

from __future__ import annotations

import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

_RANGES = {
    (ord("a"), ord("z")): "lowercase letters",
    (ord("A"), ord("Z")): "capital letters",
    (ord("0"), ord("9")): "digits",
}
_CATEGORIES = {
    c.CATEGORY_DIGIT: "digits",
    c.CATEGORY_WORD: "letters, digits or _",
    c.CATEGORY_SPACE: "spaces",
}
_SINGULAR = {
    "lowercase letters": "a lowercase letter",
    "capital letters": "a capital letter",
    "digits": "a digit",
}


class _NotSimple(Exception):
    pass


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _set_words(items) -> list[str]:
    words: list[str] = []
    for op, arg in items:
        if op is c.RANGE and tuple(arg) in _RANGES:
            words.append(_RANGES[tuple(arg)])
        elif op is c.CATEGORY and arg in _CATEGORIES:
            words.append(_CATEGORIES[arg])
        elif op is c.LITERAL and chr(arg).isprintable() and not chr(arg).isspace():
            words.append(chr(arg))
        else:
            raise _NotSimple
    return words


def _one(token) -> tuple[str, int, int | None]:
    """(words, fewest characters, most characters) for one token of the sequence."""
    op, arg = token
    if op is c.IN:
        words = _set_words(arg)
        if len(words) == 1 and words[0] in _SINGULAR:
            return _SINGULAR[words[0]], 1, 1
        return "one of " + _either(words), 1, 1
    if op is c.MAX_REPEAT:
        low, high, sub = arg
        if len(sub) != 1 or sub[0][0] is not c.IN:
            raise _NotSimple
        words = _either(_set_words(sub[0][1]))
        return words, low, None if high is c.MAXREPEAT else high
    raise _NotSimple


def _count(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} characters" if low > 1 else ""
    if low == high:
        return f"exactly {low} character{'s' if low != 1 else ''}"
    return f"{low}–{high} characters"


def describe(pattern: str) -> str | None:
    """The pattern in words, or None when it is not one of the simple shapes."""
    try:
        tokens = list(_parser.parse(pattern))
    except (re.error, RecursionError, TypeError, ValueError):
        return None
    if (
        len(tokens) < 3
        or tokens[0] != (c.AT, c.AT_BEGINNING)
        or tokens[-1] not in ((c.AT, c.AT_END), (c.AT, c.AT_END_STRING))
    ):
        return None
    parts: list[str] = []
    bare: list[str] = []  # the same, without each part's own count
    low_total, high_total = 0, 0
    literal = ""
    try:
        for token in [*tokens[1:-1], None]:
            if token is not None and token[0] is c.LITERAL:
                literal += chr(token[1])
                continue
            if literal:
                parts.append(f"“{literal}”")
                bare.append(f"“{literal}”")
                low_total += len(literal)
                if high_total is not None:
                    high_total += len(literal)
                literal = ""
            if token is None:
                break
            words, low, high = _one(token)
            counted = _count(low, high) if token[0] is c.MAX_REPEAT else ""
            parts.append(f"{words} ({counted})" if counted else words)
            bare.append(words)
            low_total += low
            high_total = None if high is None or high_total is None else high_total + high
    except _NotSimple:
        return None
    if len(parts) == 1:
        # One repeated set: "use lowercase letters, digits, - or _; 2–64 characters".
        words, low, high = _one(tokens[1])
        count = _count(low, high) if tokens[1][0] is c.MAX_REPEAT else "exactly 1 character"
        return f"use {words}" + (f"; {count}" if count else "")
    if high_total is None:  # unbounded: each part says its own count
        return "start with " + parts[0] + "".join(f", then {p}" for p in parts[1:])
    sentence = "start with " + bare[0] + "".join(f", then {p}" for p in bare[1:])
    return sentence + f"; {_count(low_total, high_total)} in all"
