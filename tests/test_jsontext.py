"""Strict JSON: what Python's json module lets through, we refuse with a reason."""

import pytest

from common.jsontext import MAX_DEPTH, BadJSON, parse_json


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "NaN is not allowed"),
        ('{"a": Infinity}', "Infinity is not allowed"),
        ('{"a": 1e999}', "too large"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than"),
        ("[" * 100_000, "nested more than"),
        ('{"a": }', "not valid JSON"),
        ("   ", "Enter a JSON value"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unacceptable_json_is_refused_with_its_reason(text, reason):
    with pytest.raises(BadJSON, match=reason):
        parse_json(text)


def test_ordinary_json_parses_unchanged():
    assert parse_json('{"a": [1, 2.5, "x", null, true], "b": {"c": "[{"}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": "[{"},
    }


@pytest.mark.parametrize("text", ['{"x": "a\\u0000b"}', '{"a\\u0000": 1}', '["\\u0000"]'])
def test_nul_characters_are_refused_as_postgresql_cannot_store_them(text):
    with pytest.raises(BadJSON, match="NUL"):
        parse_json(text)
