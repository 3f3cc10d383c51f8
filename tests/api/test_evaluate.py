"""Overrides over the API: proposed, reviewed and published with the value, read back, and
evaluated for a context (`POST …/evaluate/`), case by case as the client evaluates them
(tests/evaluation/table.json)."""

import copy
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from configs.models import Config
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from reviews import services
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.evaluation.table import CASE_IDS, CASES, TABLE, expected

pytestmark = pytest.mark.django_db

API = "/api/v1"
METRICS = f"{API}/configs/sales-ops/custom-metrics/"
TIMEZONES = f"{API}/configs/data-pipelines/company-timezones/"


def writer(user, *slugs):
    _token, secret = make_token(user, *(slugs or ("data-pipelines", "sales-ops")), write=True)
    return client_for(secret)


def for_companies(value, *companies, name="globex-and-initech"):
    return {
        "name": name,
        "when": [{"attribute": "company", "op": "in", "values": list(companies)}],
        "value": value,
    }


def with_metric(value, name):
    value = copy.deepcopy(value)
    value["metrics"].append({"name": name, "kind": "count", "event": "refund"})
    return value


@pytest.fixture
def table(demo, carol):
    """The shared table's value and overrides, published as sales-ops/legacy-fields."""
    config = Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")
    services.change_request_open(
        config=config,
        author=carol,
        value=TABLE["value"],
        overrides=TABLE["overrides"],
        base_version=newest(config).number,
        title="The evaluation table",
        publish=True,
    )
    return config


# --- the shared table, against the server -----------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_shared_table_over_the_api(table, alice_reads, case):
    response = alice_reads.post(
        f"{API}/configs/sales-ops/legacy-fields/evaluate/",
        {"context": case["context"]},
        format="json",
    )

    want = expected(case)
    if want["error"]:
        assert response.status_code == 400
        assert response.json()["code"] == want["error"]
        assert response.json()["detail"]
        return
    assert response.status_code == 200, response.content
    assert response.json() == {
        "key": "legacy-fields",
        "version": newest(table).number,
        "value": want["value"],
        "variant": want["variant"],
        "reason": want["reason"],
    }


# --- from outside: the walk ---------------------------------------------------------


def test_an_override_for_two_companies_is_proposed_published_and_evaluated(metrics, alice, bob):
    live = newest(metrics)
    special = with_metric(live.value, "enterprise_refunds")
    api = writer(alice)

    opened = api.post(
        METRICS + "change-requests/",
        {
            "value": live.value,
            "overrides": [for_companies(special, "globex", "initech")],
            "base_version": live.number,
            "title": "Globex and Initech count refunds",
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    assert opened.json()["overrides"][0]["name"] == "globex-and-initech"
    assert opened.json()["changes"][0]["overrides"] == opened.json()["overrides"]
    published = writer(bob).post(f"{API}/change-requests/{opened.json()['id']}/publish/")
    assert published.status_code == 200, published.content

    globex = api.post(METRICS + "evaluate/", {"context": {"company": "globex"}}, format="json")
    other = api.post(METRICS + "evaluate/", {"context": {"company": "umbrella"}}, format="json")
    assert globex.json() == {
        "key": "custom-metrics",
        "version": live.number + 1,
        "value": special,
        "variant": "globex-and-initech",
        "reason": "TARGETING_MATCH",
    }
    assert (other.json()["value"], other.json()["variant"], other.json()["reason"]) == (
        live.value,
        "default",
        "DEFAULT",
    )
    read = api.get(METRICS).json()
    assert read["value"] == live.value
    assert read["overrides"] == [for_companies(special, "globex", "initech")]
    bundle = api.get(f"{API}/namespaces/sales-ops/bundle/").json()
    assert bundle["configs"]["custom-metrics"]["overrides"] == read["overrides"]
    assert bundle["configs"]["legacy-fields"]["overrides"] == []


def test_an_override_value_the_schema_rejects_is_400_naming_the_override_and_path(metrics, alice):
    live = newest(metrics)
    wrong = copy.deepcopy(live.value)
    wrong["metrics"][0]["kind"] = "median"

    response = writer(alice).post(
        METRICS + "change-requests/",
        {
            "value": live.value,
            "overrides": [for_companies(wrong, "globex")],
            "base_version": live.number,
            "title": "Globex's median",
        },
        format="json",
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["path"] == "/overrides/0/value/metrics/0/kind"
    assert error["message"].startswith("globex-and-initech: Kind:")
    assert not ChangeRequest.objects.exists()


def test_overrides_of_the_wrong_shape_are_400_with_their_place(metrics, alice):
    live = newest(metrics)
    broken = {"name": "x", "when": [{"attribute": "company", "op": "like", "values": ["g"]}]}

    response = writer(alice).post(
        METRICS + "change-requests/",
        {"value": live.value, "overrides": [broken], "base_version": live.number, "title": "x"},
        format="json",
    )

    assert response.status_code == 400
    paths = [error["path"] for error in response.json()["errors"]]
    assert paths == ["/overrides/0", "/overrides/0/when/0/op"]


def test_a_new_override_alone_is_a_change_worth_reviewing(timezones, alice):
    live = newest(timezones)

    response = writer(alice).post(
        TIMEZONES + "change-requests/",
        {
            "value": live.value,
            "overrides": [for_companies(live.value, "globex")],
            "base_version": live.number,
            "title": "Globex the same, for now",
        },
        format="json",
    )

    assert response.status_code == 201, response.content


def test_editing_the_overrides_dismisses_earlier_approvals(timezones, alice, bob):
    live = newest(timezones)
    change_request = services.change_request_open(
        config=timezones,
        author=alice,
        value=live.value,
        overrides=[for_companies(live.value, "globex")],
        base_version=live.number,
        title="Globex",
    )
    services.change_request_approve(change_request=change_request, reviewer=bob)

    response = writer(alice).patch(
        f"{API}/change-requests/{change_request.pk}/",
        {"overrides": [for_companies(live.value, "globex", "initech")]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["approvals"] == []
    assert response.json()["overrides"][0]["when"][0]["values"] == ["globex", "initech"]
    assert response.json()["value"] == live.value


def test_a_proposal_without_overrides_keeps_the_ones_published(metrics, carol):
    live = newest(metrics)
    services.change_request_open(
        config=metrics,
        author=carol,
        value=live.value,
        overrides=[for_companies(live.value, "globex")],
        base_version=live.number,
        title="Globex",
        publish=True,
    )
    changed = with_metric(live.value, "refunds")

    response = writer(carol).post(
        METRICS + "change-requests/",
        {"value": changed, "base_version": live.number + 1, "title": "Count refunds"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["overrides"] == [for_companies(live.value, "globex")]


def test_restoring_a_version_brings_back_its_overrides(metrics, carol):
    first = newest(metrics)
    services.change_request_open(
        config=metrics,
        author=carol,
        value=first.value,
        overrides=[for_companies(first.value, "globex")],
        base_version=first.number,
        title="Globex",
        publish=True,
    )
    services.change_request_open(
        config=metrics,
        author=carol,
        value=first.value,
        overrides=[],
        base_version=first.number + 1,
        title="No more Globex",
        publish=True,
    )
    with_override = versions_of(metrics).get(number=first.number + 1)

    restore = services.version_restore(version=with_override, actor=carol, reason="Back again")

    assert restore.change.overrides == [for_companies(first.value, "globex")]


# --- evaluate: errors, namespaces, queries --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"context": "globex"}, "INVALID_CONTEXT"),
        ({"context": ["globex"]}, "INVALID_CONTEXT"),
        (["context"], "INVALID_CONTEXT"),
        ({"context": {"plan": "trial"}}, "TARGETING_KEY_MISSING"),
    ],
)
def test_a_context_that_cannot_be_evaluated_is_400_with_its_code(table, alice_reads, body, code):
    response = alice_reads.post(
        f"{API}/configs/sales-ops/legacy-fields/evaluate/", body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_without_a_context_a_config_without_overrides_is_static(timezones, alice_reads):
    response = alice_reads.post(TIMEZONES + "evaluate/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["reason"] == "STATIC"
    assert response.json()["value"] == newest(timezones).value


def test_evaluate_answers_404_for_unknown_configs_and_401_without_a_token(dave):
    _token, secret = make_token(dave, "data-pipelines")
    outside = client_for(secret).post(METRICS + "evaluate/", {}, format="json")
    unknown = client_for(secret).post(f"{API}/configs/sales-ops/nope/evaluate/", {}, format="json")

    assert outside.status_code == 404  # the token does not reach sales-ops
    assert unknown.status_code == 404
    assert client_for().post(METRICS + "evaluate/", {}, format="json").status_code == 401


def test_namespace_evaluate_answers_every_config(table, alice_reads):
    response = alice_reads.post(
        f"{API}/namespaces/sales-ops/evaluate/",
        {"context": {"company": "globex", "plan": "trial"}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["namespace"] == "sales-ops"
    assert set(body["configs"]) == {"custom-metrics", "legacy-fields"}
    assert body["configs"]["legacy-fields"]["variant"] == "globex-and-initech"
    assert body["configs"]["legacy-fields"]["reason"] == "TARGETING_MATCH"


def test_namespace_evaluate_says_which_config_needed_a_targeting_key(table, alice_reads):
    response = alice_reads.post(
        f"{API}/namespaces/sales-ops/evaluate/", {"context": {"plan": "trial"}}, format="json"
    )

    assert response.status_code == 200
    entry = response.json()["configs"]["legacy-fields"]
    assert (entry["reason"], entry["code"]) == ("ERROR", "TARGETING_KEY_MISSING")
    assert entry["value"] == TABLE["value"]


def _queries(api, path, body) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.post(path, body, format="json").status_code == 200
    return len(queries)


def test_evaluations_cost_as_many_queries_as_reads_whatever_the_overrides(table, alice_reads):
    path = f"{API}/configs/sales-ops/legacy-fields/evaluate/"
    _queries(alice_reads, path, {})  # prepares the version once
    context = {"context": {"company": "globex"}}

    # One, as the plain read: the token's lookup finds the live version too.
    assert _queries(alice_reads, path, context) == 1
    # The token, the namespace's access and its live versions.
    assert _queries(alice_reads, f"{API}/namespaces/sales-ops/evaluate/", context) == 3


def test_namespace_evaluation_queries_do_not_grow_with_its_configs(table, alice_reads, carol):
    path = f"{API}/namespaces/sales-ops/evaluate/"
    context = {"context": {"company": "globex"}}
    _queries(alice_reads, path, context)
    few = _queries(alice_reads, path, context)
    from configs import services as config_services

    namespace = table.namespace
    for n in range(5):
        config_services.config_create(
            namespace=namespace, key=f"more-{n}", name=f"More {n}", value={"n": n}, actor=carol
        )
    _queries(alice_reads, path, context)  # prepares the new versions once

    assert _queries(alice_reads, path, context) == few


# --- a pinned version, a past instant, a change request's proposal -----------------------------


def _evaluate_at(api, query, context):
    return api.post(f"{METRICS}evaluate/?{urlencode(query)}", {"context": context}, format="json")


@pytest.fixture
def overridden_later(metrics, carol):
    """custom-metrics: its first version, then one whose only override is initech's."""
    first = newest(metrics)
    special = with_metric(first.value, "enterprise_refunds")
    services.change_request_open(
        config=metrics,
        author=carol,
        value=first.value,
        overrides=[for_companies(special, "initech", name="initech")],
        base_version=first.number,
        title="Initech counts refunds",
        publish=True,
    )
    return first, newest(metrics), special


def test_evaluate_a_version_pinned_by_number_or_instant(overridden_later, alice_reads):
    first, live, special = overridden_later
    initech = {"company": "initech"}

    by_number = _evaluate_at(alice_reads, {"version": first.number}, initech)
    by_instant = _evaluate_at(alice_reads, {"at": first.effective_at.isoformat()}, initech)
    now = _evaluate_at(alice_reads, {}, initech)

    assert by_number.status_code == 200
    assert by_number.json() == {
        "key": "custom-metrics",
        "version": first.number,
        "value": first.value,
        "variant": "default",
        "reason": "DEFAULT",
    }
    assert by_instant.json() == by_number.json()
    assert (now.json()["version"], now.json()["value"]) == (live.number, special)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"version": "99"}, 404, "has no version 99"),
        ({"version": "two"}, 400, "version must be a whole number"),
        ({"at": "yesterday"}, 400, "at must be an ISO 8601 instant"),
        ({"at": "1999-01-01T00:00:00Z"}, 404, "had no live version at"),
        ({"version": "1", "at": "2026-01-01T00:00:00Z"}, 400, "either ?version= or ?at="),
        ({"change_request": "abc"}, 400, "change_request must be a change request number"),
        ({"change_request": "987654"}, 404, "No open change request 987654"),
        ({"change_request": "1", "version": "1"}, 400, "either a preview"),
    ],
)
def test_evaluate_refuses_what_the_read_refuses(metrics, alice_reads, query, status, message):
    response = _evaluate_at(alice_reads, query, {})
    read = alice_reads.get(METRICS, query)

    assert (response.status_code, read.status_code) == (status, status)
    assert message in response.json()["detail"]
    assert response.json()["detail"] == read.json()["detail"]


def test_evaluate_a_change_request_s_proposal(metrics, alice, alice_reads, bob):
    live = newest(metrics)
    special = with_metric(live.value, "enterprise_refunds")
    proposal = services.change_request_open(
        config=metrics,
        author=alice,
        value=live.value,
        overrides=[for_companies(special, "globex")],
        base_version=live.number,
        title="Globex counts refunds",
        draft=True,
    )
    _token, bob_secret = make_token(bob, "sales-ops")

    mine = _evaluate_at(alice_reads, {"change_request": proposal.pk}, {"company": "globex"})
    theirs = _evaluate_at(client_for(bob_secret), {"change_request": proposal.pk}, {})
    published = _evaluate_at(alice_reads, {}, {"company": "globex"})

    assert mine.status_code == 200
    assert mine["Config-Preview"] == f"change-request={proposal.pk}"
    assert mine.json() == {
        "key": "custom-metrics",
        "version": None,
        "value": special,
        "variant": "globex-and-initech",
        "reason": "TARGETING_MATCH",
    }
    assert theirs.status_code == 404  # a draft only for its author
    assert published.json()["version"] == live.number  # the live version is still evaluated
    assert published.json()["value"] != special
