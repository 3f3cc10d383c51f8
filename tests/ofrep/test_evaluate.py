"""OFREP v0.3 as a provider sees it: flags by key and by <namespace>.<key>, the errors OFREP
names, the bulk answer with its ETag, and who may read what."""

import json

import pytest
from django.test import Client

from configs.models import Config, Membership, Namespace
from configs.selectors import newest_version as newest
from configs.services import config_create, token_create, token_revoke
from reviews import services as review_services
from tests.push.conftest import publish_metric

pytestmark = pytest.mark.django_db

FLAG = "/ofrep/v1/evaluate/flags/"
FLAGS = "/ofrep/v1/evaluate/flags"


def token(user, *slugs):
    namespaces = list(Namespace.objects.filter(slug__in=slugs))
    return token_create(user=user, name="flags", namespaces=namespaces, write=False)


def post(path, secret=None, body=None, raw=None, **headers):
    if secret:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    data = raw if raw is not None else json.dumps({"context": {}} if body is None else body)
    return Client().post(path, data=data, content_type="application/json", **headers)


@pytest.fixture
def welcome(carol, demo):
    """A string and a number, beside the demo's objects, in sales-ops."""
    sales = Namespace.objects.get(slug="sales-ops")
    config_create(namespace=sales, key="welcome-text", name="Welcome", value="Hello", actor=carol)
    config_create(namespace=sales, key="batch-size", name="Batch", value=500, actor=carol)


def test_a_flag_is_its_config_s_live_value_with_reason_variant_and_metadata(alice, demo):
    legacy = Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")  # no overrides
    _t, secret = token(alice, "sales-ops")

    answer = post(FLAG + "legacy-fields", secret, {"context": {"targetingKey": "globex"}})

    assert answer.status_code == 200
    assert answer.json() == {
        "key": "legacy-fields",
        "value": newest(legacy).value,
        "reason": "STATIC",
        "variant": "default",
        "metadata": {
            "namespace": "sales-ops",
            "version": newest(legacy).number,
            "environment": "production",
        },
    }


def test_strings_and_numbers_are_flags_too(alice, welcome):
    _t, secret = token(alice, "sales-ops")

    assert post(FLAG + "welcome-text", secret).json()["value"] == "Hello"
    assert post(FLAG + "batch-size", secret).json()["value"] == 500


def test_namespace_dot_key_always_names_a_flag(alice, timezones):
    _t, secret = token(alice, "data-pipelines", "sales-ops")

    answer = post(FLAG + "data-pipelines.company-timezones", secret)

    assert answer.status_code == 200
    assert answer.json()["key"] == "data-pipelines.company-timezones"
    assert answer.json()["value"] == newest(timezones).value


def test_a_bare_key_from_a_token_of_several_namespaces_names_the_flag_it_may_mean(alice, demo):
    _t, secret = token(alice, "data-pipelines", "sales-ops")

    answer = post(FLAG + "custom-metrics", secret)

    assert answer.status_code == 404
    assert answer.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert answer.json()["errorDetails"] == (
        "This token reads 2 namespaces, so a flag is named <namespace>.<key>: "
        "sales-ops.custom-metrics."
    )


@pytest.mark.parametrize(
    "flag",
    ["no-such-config", "data-pipelines.company-timezones", "sales-ops.", "other.custom-metrics"],
)
def test_a_flag_the_token_does_not_read_is_not_found(alice, demo, flag):
    _t, secret = token(alice, "sales-ops")

    answer = post(FLAG + flag, secret)

    assert answer.status_code == 404
    assert answer.json()["key"] == flag
    assert answer.json()["errorCode"] == "FLAG_NOT_FOUND"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "PARSE_ERROR"),
        ('{"context": NaN}', "PARSE_ERROR"),
        ("[1, 2]", "PARSE_ERROR"),
        ('{"context": [1]}', "INVALID_CONTEXT"),
        ('{"context": {"targetingKey": 7}}', "INVALID_CONTEXT"),
    ],
)
def test_bad_requests_are_400_with_ofrep_s_error_code(alice, demo, raw, code):
    _t, secret = token(alice, "sales-ops")

    answer = post(FLAG + "custom-metrics", secret, raw=raw)

    assert answer.status_code == 400
    assert answer.json()["errorCode"] == code
    assert answer.json()["key"] == "custom-metrics"
    assert answer.json()["errorDetails"]


def test_the_same_bad_body_is_refused_every_time(alice, demo):
    _t, secret = token(alice, "sales-ops")

    answers = [post(FLAG + "custom-metrics", secret, raw='{"context": 1}') for _ in range(3)]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert {a.json()["errorCode"] for a in answers} == {"INVALID_CONTEXT"}


def test_no_token_or_a_revoked_one_is_401_and_a_token_reading_nothing_403(alice, dave, demo):
    revoked, revoked_secret = token(alice, "sales-ops")
    token_revoke(token=revoked, actor=alice)
    _t, nothing = token(dave, "sales-ops")
    Membership.objects.filter(user=dave, namespace__slug="sales-ops").delete()  # role gone

    assert post(FLAG + "custom-metrics").status_code == 401
    assert post(FLAG + "custom-metrics", "cc_not-a-token").status_code == 401
    assert post(FLAG + "custom-metrics", revoked_secret).status_code == 401
    assert post(FLAG + "custom-metrics", nothing).status_code == 403
    assert post(FLAGS, nothing).status_code == 403
    assert post(FLAGS).status_code == 401


def test_bulk_holds_every_flag_the_token_reads_named_as_single_evaluation_accepts(
    alice, timezones, metrics
):
    _t, one = token(alice, "sales-ops")
    _t, both = token(alice, "sales-ops", "data-pipelines")

    single = post(FLAGS, one).json()
    several = post(FLAGS, both).json()

    keys = {flag["key"] for flag in single["flags"]}
    assert keys == set(metrics.namespace.configs.values_list("key", flat=True))
    assert "sales-ops.custom-metrics" in {flag["key"] for flag in several["flags"]}
    assert "data-pipelines.company-timezones" in {flag["key"] for flag in several["flags"]}
    for flag in single["flags"]:
        assert post(FLAG + flag["key"], one).json() == flag
    assert single["metadata"] == {}
    assert "eventStreams" not in single  # under WSGI there is no stream: providers poll


def test_bulk_is_304_while_unchanged_and_200_after_a_publish(alice, metrics):
    _t, secret = token(alice, "sales-ops")
    first = post(FLAGS, secret)

    again = post(FLAGS, secret, HTTP_IF_NONE_MATCH=first["ETag"])
    publish_metric(alice, "signups")
    after = post(FLAGS, secret, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]
    metrics_flag = next(f for f in after.json()["flags"] if f["key"] == "custom-metrics")
    assert metrics_flag["value"] == newest(metrics).value


def test_bulk_accepts_the_refetch_parameters_a_stream_event_adds(alice, metrics):
    _t, secret = token(alice, "sales-ops")

    answer = post(FLAGS + "?flagConfigEtag=12&flagConfigLastModified=1771622898", secret)

    assert answer.status_code == 200


def test_bulk_refuses_a_body_that_is_not_json(alice, demo):
    _t, secret = token(alice, "sales-ops")

    answer = post(FLAGS, secret, raw="{")

    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "PARSE_ERROR"


def test_an_unknown_address_under_ofrep_is_a_json_404(alice, demo):
    answer = Client().get("/ofrep/v2/nothing")

    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"


def test_a_flag_read_is_recorded_as_the_config_s_consumer(alice, metrics):
    from configs import consumers

    reader, secret = token(alice, "sales-ops")
    post(FLAG + "custom-metrics", secret)
    consumers.flush()

    readers = consumers.consumers_of(config=metrics, live=newest(metrics))
    assert [row.token for row in readers] == [reader.name]


def test_a_warm_evaluation_costs_a_fixed_number_of_queries(
    alice, metrics, django_assert_max_num_queries
):
    _t, secret = token(alice, "sales-ops")
    post(FLAG + "custom-metrics", secret)

    # The token and its namespaces, then the token with the config's live version.
    with django_assert_max_num_queries(3):
        assert post(FLAG + "custom-metrics", secret).status_code == 200


@pytest.fixture
def rollout(carol, demo):
    """sales-ops/legacy-fields (no schema) with a 10/90 split by targetingKey."""
    legacy = Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")
    split = {
        "by": "targetingKey",
        "buckets": [
            {"percent": 10, "value": {"bucket": "new"}},
            {"percent": 90, "value": {"bucket": "old"}},
        ],
    }
    review_services.change_request_open(
        config=legacy,
        author=carol,
        value=newest(legacy).value,
        overrides=[{"name": "rollout", "split": split}],
        base_version=newest(legacy).number,
        title="Roll out",
        publish=True,
    )
    return legacy


def test_a_split_gives_the_same_bucket_for_the_same_key_every_time(alice, rollout):
    _t, secret = token(alice, "sales-ops")
    body = {"context": {"targetingKey": "customer-7"}}

    answers = [post(FLAG + "legacy-fields", secret, body).json() for _ in range(3)]

    assert answers[0]["reason"] == "SPLIT"
    assert answers[0]["variant"] in ("rollout/1", "rollout/2")
    assert answers[0]["value"] in ({"bucket": "new"}, {"bucket": "old"})
    assert answers[1] == answers[0] == answers[2]
    buckets = {
        post(FLAG + "legacy-fields", secret, {"context": {"targetingKey": f"c{n}"}}).json()[
            "variant"
        ]
        for n in range(40)
    }
    assert buckets == {"rollout/1", "rollout/2"}  # both buckets are served to someone


def test_a_split_without_targeting_key_is_400_and_its_place_in_bulk(alice, rollout):
    _t, secret = token(alice, "sales-ops")

    single = post(FLAG + "legacy-fields", secret, {"context": {"company": "globex"}})
    bulk = post(FLAGS, secret, {"context": {"company": "globex"}}).json()

    assert single.status_code == 400
    assert single.json()["errorCode"] == "TARGETING_KEY_MISSING"
    by_key = {flag["key"]: flag for flag in bulk["flags"]}
    assert by_key["legacy-fields"]["errorCode"] == "TARGETING_KEY_MISSING"
    assert by_key["custom-metrics"]["reason"] == "TARGETING_MATCH"  # the demo's Globex override


def test_the_bulk_etag_changes_with_a_context_that_changes_an_answer(alice, demo):
    _t, secret = token(alice, "sales-ops")
    acme = post(FLAGS, secret, {"context": {"company": "acme"}})

    globex = post(
        FLAGS, secret, {"context": {"company": "globex"}}, HTTP_IF_NONE_MATCH=acme["ETag"]
    )

    assert globex.status_code == 200
    assert globex["ETag"] != acme["ETag"]


def test_a_staging_token_s_flags_are_staging_s_values_and_say_so(alice, carol, demo):
    from configs import environments
    from tests.push.test_watch import publish_metric_in

    staging = environments.named("staging")
    namespaces = list(Namespace.objects.filter(slug="sales-ops"))
    _t, secret = token_create(user=alice, name="flags", namespaces=namespaces, environment=staging)
    published = publish_metric_in("staging", carol, "refunds")

    single = post(FLAG + "custom-metrics", secret, {"context": {"targetingKey": "someone"}})
    bulk = post(FLAGS, secret, {"context": {"targetingKey": "someone"}})

    assert single.json()["metadata"]["environment"] == "staging"
    assert single.json()["metadata"]["version"] == published.number
    flags = {flag["key"]: flag for flag in bulk.json()["flags"]}
    assert flags["custom-metrics"]["metadata"] == single.json()["metadata"]
    assert {flag["metadata"]["environment"] for flag in flags.values()} == {"staging"}
