"""The one validator: right paths, plain words, no hanging on hostile patterns, no remote refs."""

import copy
import json
import time
from pathlib import Path

import pytest

from configs.validation import InvalidSchema, check_schema, validate_value

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo"


def load(name):
    return json.loads((DEMO / name).read_text())


@pytest.fixture
def timezones_schema():
    return load("company-timezones.schema.json")


@pytest.fixture
def timezones_value():
    return load("company-timezones.value.json")


@pytest.mark.parametrize("name", ["company-timezones", "custom-metrics", "warehouse-connections"])
def test_demo_schemas_accept_their_demo_values(name):
    schema = load(f"{name}.schema.json")
    check_schema(schema)
    assert validate_value(load(f"{name}.value.json"), schema) == []


def test_no_schema_means_any_json_is_valid():
    assert validate_value({"anything": [1, "two", None]}, None) == []


def _with(value, change):
    value = copy.deepcopy(value)
    change(value)
    return value


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda v: v["companies"][0].update(timezone="Mars/Olympus"),
            "/companies/0/timezone",
            "Timezone: choose one of the listed timezones.",
        ),
        (
            lambda v: v["companies"][1].update(timezone=3),
            "/companies/1/timezone",
            "Timezone: enter text.",
        ),
        (
            lambda v: v["companies"][2].pop("company_id"),
            "/companies/2/company_id",
            "Company ID is required.",
        ),
        (
            lambda v: v["companies"][0].update(colour="red"),
            "/companies/0/colour",
            "'colour' is not a field this config knows; remove it.",
        ),
        (
            lambda v: v["companies"][1].update(effective_from="yesterday"),
            "/companies/1/effective_from",
            "Switch over at: enter a date and time.",
        ),
    ],
    ids=["wrong enum", "wrong type", "missing required", "extra property", "bad date-time"],
)
def test_each_problem_is_named_at_its_path_in_plain_words(
    timezones_schema, timezones_value, change, path, message
):
    errors = validate_value(_with(timezones_value, change), timezones_schema)
    assert errors == [{"path": path, "message": message}]


def test_every_problem_is_reported_sorted_by_path(timezones_schema, timezones_value):
    def break_two(v):
        v["companies"][2]["timezone"] = "Nowhere"
        v["companies"][0]["company_id"] = "Not Valid!"

    errors = validate_value(_with(timezones_value, break_two), timezones_schema)
    assert [e["path"] for e in errors] == ["/companies/0/company_id", "/companies/2/timezone"]


# Far above the guard's 0.1 s timeout, far below an unguarded match's hours.
GUARDED = 10.0


def test_a_catastrophic_pattern_returns_instead_of_hanging():
    schema = {"type": "string", "pattern": "^(a|a)*$"}
    started = time.monotonic()
    errors = validate_value("a" * 40 + "!", schema)
    # Unguarded, this match backtracks 2**40 times (hours): returning at all is the point, and
    # the bound leaves room for a loaded machine.
    assert time.monotonic() - started < GUARDED
    assert errors and errors[0]["path"] == ""


def test_a_catastrophic_pattern_in_property_names_also_returns(timezones_schema):
    schema = {
        "type": "object",
        "patternProperties": {"^(a|a)*$": {"type": "integer"}},
        "additionalProperties": False,
    }
    started = time.monotonic()
    validate_value({"a" * 40 + "!": 1}, schema)
    assert time.monotonic() - started < GUARDED


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://example.com/schema.json"},
        {"type": "object", "properties": {"x": {"$ref": "other.json#/x"}}},
    ],
)
def test_remote_references_are_refused(schema):
    with pytest.raises(InvalidSchema, match="Only references inside the schema"):
        check_schema(schema)


def test_local_references_work():
    schema = {
        "$defs": {"tz": {"enum": ["UTC"], "title": "Timezone"}},
        "type": "object",
        "properties": {"tz": {"$ref": "#/$defs/tz"}},
    }
    check_schema(schema)
    assert validate_value({"tz": "UTC"}, schema) == []
    assert validate_value({"tz": "Mars"}, schema)[0]["path"] == "/tz"


def test_a_broken_schema_is_refused_with_a_reason():
    with pytest.raises(InvalidSchema, match="is not valid"):
        check_schema({"type": "strnig"})
