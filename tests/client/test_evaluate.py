"""The client evaluates a config's overrides for a context locally, with the server's rules:
the shared table (tests/evaluation/table.json) through `get(context=)` and `evaluate()`."""

import pytest
from config_console_client import ContextRefused

from tests.evaluation.table import CASE_IDS, CASES, TABLE, expected

NAMESPACE = "sales-ops"
KEY = TABLE["key"]
PATH = f"/api/v1/configs/{NAMESPACE}/{KEY}/"


@pytest.fixture
def published(stub):
    stub.serve(
        PATH,
        {
            "namespace": NAMESPACE,
            "key": KEY,
            "version": 3,
            "value": TABLE["value"],
            "overrides": TABLE["overrides"],
            "effective_at": "2026-01-01T00:00:00Z",
        },
    )
    stub.serve(
        f"/api/v1/namespaces/{NAMESPACE}/bundle/",
        {
            "namespace": NAMESPACE,
            "configs": {
                KEY: {"version": 3, "value": TABLE["value"], "overrides": TABLE["overrides"]},
                "plain": {"version": 1, "value": [1, 2], "overrides": []},
            },
        },
    )
    return stub


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_shared_table_through_the_client(published, make_client, case):
    client = make_client()

    answer = client.evaluate(NAMESPACE, KEY, case["context"])

    got = {
        "value": answer.value,
        "variant": answer.variant,
        "reason": answer.reason,
        "error": answer.error.code if answer.error else None,
    }
    assert got == expected(case)
    if answer.error:
        with pytest.raises(ContextRefused) as refused:
            client.get(NAMESPACE, KEY, context=case["context"])
        assert refused.value.code == answer.error.code
    else:
        assert client.get(NAMESPACE, KEY, context=case["context"]) == answer.value


def test_evaluating_many_contexts_reads_the_config_once(published, make_client):
    client = make_client()

    answers = [client.get(NAMESPACE, KEY, context={"company": c}) for c in ("globex", "acme", "x")]

    assert [a["plan"] for a in answers] == ["enterprise", "acme", "standard"]
    assert len(published.requests_to(PATH)) == 1


def test_without_a_context_get_is_the_plain_value(published, make_client):
    assert make_client().get(NAMESPACE, KEY) == TABLE["value"]


def test_a_bundle_with_a_context_gives_what_it_gets_from_each_config(published, make_client):
    values = make_client().bundle(NAMESPACE, context={"company": "initech"})

    assert values == {KEY: {"plan": "enterprise"}, "plain": [1, 2]}


def test_a_local_override_is_what_every_context_gets(published, make_client):
    client = make_client(overrides={f"{NAMESPACE}/{KEY}": {"plan": "local"}})

    assert client.get(NAMESPACE, KEY, context={"company": "globex"}) == {"plan": "local"}
    assert client.evaluate(NAMESPACE, KEY, {"company": "globex"}).reason == "STATIC"
