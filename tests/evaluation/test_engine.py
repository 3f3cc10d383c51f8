"""The evaluation engine itself (config_console_client/evaluation.py), which the server and the
client share: the shared table, the stable split, bounded patterns and the shape rules."""

import time

import pytest
from config_console_client.evaluation import (
    Evaluation,
    bucket_position,
    evaluate,
    overrides_problems,
    served_values,
)

from tests.evaluation.table import CASE_IDS, CASES, TABLE, expected


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_shared_table(case):
    answer = evaluate(TABLE["key"], TABLE["value"], TABLE["overrides"], case["context"])
    got = {
        "value": answer.value,
        "variant": answer.variant,
        "reason": answer.reason,
        "error": answer.error.code if answer.error else None,
    }
    assert got == expected(case)


def test_the_table_is_a_valid_set_of_overrides():
    assert overrides_problems(TABLE["overrides"]) == []


def test_no_overrides_is_static():
    assert evaluate("k", [1, 2], [], {"company": "globex"}) == Evaluation(
        value=[1, 2], variant="default", reason="STATIC"
    )


@pytest.mark.parametrize("context", [None, [], "globex", 3])
def test_a_context_that_is_not_an_object_is_invalid(context):
    answer = evaluate("k", 1, [], context)
    assert answer.error is not None and answer.error.code == "INVALID_CONTEXT"
    assert answer.value == 1 and answer.variant == "default"


def test_a_split_keeps_each_customer_in_its_bucket_and_follows_the_percentages():
    overrides = [
        {
            "name": "rollout",
            "split": {
                "by": "targetingKey",
                "buckets": [{"percent": 10, "value": "b"}, {"percent": 90, "value": "a"}],
            },
        }
    ]
    answers = [evaluate("k", "x", overrides, {"targetingKey": f"u-{n}"}) for n in range(2000)]
    again = [evaluate("k", "x", overrides, {"targetingKey": f"u-{n}"}) for n in range(2000)]
    assert answers == again
    share = sum(a.value == "b" for a in answers) / len(answers)
    assert 0.08 < share < 0.12
    assert {a.reason for a in answers} == {"SPLIT"}


def test_the_split_hash_depends_on_the_config_key():
    # So one customer is not in the first bucket of every rollout at once.
    positions = [bucket_position(f"config-{n}", "globex") for n in range(20)]
    assert len(set(positions)) > 15
    assert bucket_position("config-1", "globex") == bucket_position("config-1", "globex")


def test_a_catastrophic_pattern_gives_up_instead_of_hanging():
    overrides = [
        {
            "name": "slow",
            "when": [{"attribute": "c", "op": "matches", "value": "^(a+)+$"}],
            "value": 1,
        }
    ]
    started = time.monotonic()
    answer = evaluate("k", 0, overrides, {"c": "a" * 40 + "!"})
    # Without the bound this takes far longer than a minute; the bound is 0.1 s.
    assert time.monotonic() - started < 5
    assert answer.reason == "DEFAULT"


def _slow_patterns(count: int) -> list[dict]:
    return [
        {
            "name": f"slow-{n}",
            "when": [{"attribute": "c", "op": "matches", "value": "^(a|aa)+$"}],
            "value": n,
        }
        for n in range(count)
    ]


class _Clock:
    """time.monotonic for the engine, where each pattern search takes `cost` seconds."""

    def __init__(self, cost: float):
        self.now, self.cost, self.searches = 1000.0, cost, []

    def monotonic(self) -> float:
        return self.now

    def search(self, pattern, text, timeout):
        self.searches.append(timeout)
        self.now += min(self.cost, timeout)
        return None


@pytest.fixture
def clock(monkeypatch):
    from config_console_client import evaluation

    fake = _Clock(cost=0.06)
    monkeypatch.setattr(evaluation.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(evaluation._regex, "search", fake.search)
    return fake


def test_the_patterns_of_one_evaluation_share_one_budget(clock):
    # Ten slow patterns, each stopping short of its own timeout: together they may not hold the
    # worker for ten of them. The first two spend the evaluation's budget; the rest are not
    # tried, and do not match.
    answer = evaluate("k", 0, _slow_patterns(10), {"c": "a" * 30 + "!"})

    assert answer.reason == "DEFAULT"
    assert len(clock.searches) == 2
    assert clock.searches[0] == pytest.approx(0.1)
    assert clock.searches[1] == pytest.approx(0.04)  # what was left of the budget


def test_a_request_evaluating_many_configs_shares_one_budget(clock):
    from config_console_client.evaluation import pattern_budget

    with pattern_budget(0.2):
        for key in range(10):
            evaluate(f"k{key}", 0, _slow_patterns(1), {"c": "a" * 30 + "!"})

    # Each evaluation has 0.1 s at most, and all of them 0.2 s: four searches, not ten.
    assert len(clock.searches) == 4


@pytest.mark.parametrize(
    ("overrides", "path", "words"),
    [
        ({}, "/overrides", "must be a list"),
        (
            [{"when": [{"attribute": "c", "op": "in", "values": ["a"]}], "value": 1}],
            "/overrides/0/name",
            "needs a name",
        ),
        ([{"name": "x", "value": 1}], "/overrides/0/when", "whom it is for"),
        ([{"name": "x", "when": [], "value": 1}], "/overrides/0/when", "non-empty"),
        (
            [
                {
                    "name": "x",
                    "when": [{"attribute": "c", "op": "like", "values": ["a"]}],
                    "value": 1,
                }
            ],
            "/overrides/0/when/0/op",
            "one of",
        ),
        (
            [{"name": "x", "when": [{"attribute": "c", "op": "in", "values": []}], "value": 1}],
            "/overrides/0/when/0/values",
            "non-empty",
        ),
        (
            [{"name": "x", "when": [{"attribute": "c", "op": "gt", "values": ["3"]}], "value": 1}],
            "/overrides/0/when/0/values/0",
            "a number",
        ),
        (
            [
                {
                    "name": "x",
                    "when": [{"attribute": "c", "op": "matches", "value": "(a"}],
                    "value": 1,
                }
            ],
            "/overrides/0/when/0/value",
            "not a valid regular expression",
        ),
        (
            [
                {
                    "name": "x",
                    "when": [{"attribute": "c", "op": "semver_lt", "value": "two"}],
                    "value": 1,
                }
            ],
            "/overrides/0/when/0/value",
            "not a version",
        ),
        (
            [
                {
                    "name": "x",
                    "when": [{"attribute": "c", "op": "before", "value": "soon"}],
                    "value": 1,
                }
            ],
            "/overrides/0/when/0/value",
            "not a date and time",
        ),
        (
            [{"name": "x", "when": [{"attribute": "c", "op": "in", "values": ["a"]}]}],
            "/overrides/0",
            "the value it serves",
        ),
        (
            [
                {
                    "name": "x",
                    "when": [{"attribute": "c", "op": "in", "values": ["a"]}],
                    "value": 1,
                    "colour": 2,
                }
            ],
            "/overrides/0/colour",
            "not a field",
        ),
        (
            [{"name": "x", "when": [{"attribute": "c", "op": "in", "values": ["a"]}], "value": 1}]
            * 2,
            "/overrides/1/name",
            "another override",
        ),
        (
            [
                {
                    "name": "default",
                    "when": [{"attribute": "c", "op": "in", "values": ["a"]}],
                    "value": 1,
                }
            ],
            "/overrides/0/name",
            "plain value",
        ),
        (
            [
                {
                    "name": "s",
                    "split": {
                        "buckets": [{"percent": 10, "value": 1}, {"percent": 80, "value": 2}]
                    },
                }
            ],
            "/overrides/0/split/buckets",
            "add up to 100",
        ),
        (
            [{"name": "s", "split": {"buckets": [{"percent": 101, "value": 1}]}}],
            "/overrides/0/split/buckets/0/percent",
            "0 to 100",
        ),
        (
            [{"name": "s", "split": {"buckets": [{"percent": 100}]}}],
            "/overrides/0/split/buckets/0",
            "its value",
        ),
    ],
)
def test_overrides_of_the_wrong_shape_are_refused_with_the_place(overrides, path, words):
    problems = overrides_problems(overrides)
    assert any(p["path"] == path and words in p["message"] for p in problems), problems


def test_served_values_name_each_value_an_override_can_serve():
    assert served_values(TABLE["overrides"])[0] == ("/overrides/0/value", {"plan": "enterprise"})
    assert ("/overrides/12/split/buckets/1/value", {"plan": "trial-a"}) in served_values(
        TABLE["overrides"]
    )
