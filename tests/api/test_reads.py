"""The pipeline read contract, over HTTP with tokens."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from configs import services as config_services
from configs.api.reads import forget_prepared
from configs.models import Config, Namespace, Role
from configs.selectors import newest_version as newest
from reviews import services
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"
VALUE = CONFIG + "value/"
VERSIONS = CONFIG + "versions/"
BUNDLE = "/api/v1/namespaces/data-pipelines/bundle/"
NOW = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)


def publish_company(config, author, reviewer, company_id, **publish):
    value = copy.deepcopy(newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    cr = services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Add {company_id}",
        base_version=newest(config).number,
    )
    services.change_request_approve(change_request=cr, reviewer=reviewer)
    return services.change_request_publish(change_request=cr, actor=reviewer, **publish)


def companies(body):
    return [company["company_id"] for company in body["value"]["companies"]]


def test_config_read_gives_the_live_version_with_its_facts(alice_reads, timezones):
    response = alice_reads.get(CONFIG)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    live = newest(timezones)
    assert body == {
        "namespace": "data-pipelines",
        "key": "company-timezones",
        "environment": "production",
        "version": live.number,
        "value": live.value,
        "overrides": [],
        "effective_at": live.effective_at.isoformat().replace("+00:00", "Z"),
        "published_at": live.published_at.isoformat().replace("+00:00", "Z"),
        "published_by": live.published_by.username,
        "schema": timezones.schema.name,
        "schema_version": 1,
    }
    assert response["ETag"]


def test_bare_value_has_the_same_etag(alice_reads, timezones):
    document = alice_reads.get(CONFIG)
    value = alice_reads.get(VALUE)

    assert value.status_code == 200
    assert value.json() == newest(timezones).value
    assert value["ETag"] == document["ETag"]


@pytest.mark.parametrize("url", [CONFIG, VALUE, BUNDLE])
def test_unchanged_read_with_its_etag_is_304_without_a_body(alice_reads, timezones, url):
    etag = alice_reads.get(url)["ETag"]

    response = alice_reads.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_publish_changes_the_etag_and_the_value_at_once(alice_reads, timezones, alice, bob):
    etag = alice_reads.get(CONFIG)["ETag"]

    publish_company(timezones, alice, bob, "hooli")

    response = alice_reads.get(CONFIG, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["version"] == 2
    assert "hooli" in companies(response.json())


def test_bundle_changes_its_etag_when_any_config_is_published(alice_reads, timezones, alice, bob):
    etag = alice_reads.get(BUNDLE)["ETag"]

    publish_company(timezones, alice, bob, "hooli")

    response = alice_reads.get(BUNDLE, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_scheduled_version_goes_live_on_time_with_nothing_to_invalidate(
    alice_reads, timezones, alice, bob, time_machine
):
    time_machine.move_to(NOW, tick=False)
    publish_company(timezones, alice, bob, "hooli", effective_at=NOW + timedelta(hours=1))
    before = alice_reads.get(CONFIG)
    assert before.json()["version"] == 1  # read, prepared and cached while v2 waits

    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    after = alice_reads.get(CONFIG, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after.json()["version"] == 2
    assert alice_reads.get(BUNDLE).json()["configs"]["company-timezones"]["version"] == 2


def test_pinned_version_is_that_version(alice_reads, timezones, alice, bob):
    first = newest(timezones)
    publish_company(timezones, alice, bob, "hooli")

    response = alice_reads.get(CONFIG, {"version": 1})

    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert response.json()["value"] == first.value
    assert alice_reads.get(VALUE, {"version": 1}).json() == first.value


@pytest.mark.parametrize("number", ["7", "0"])
def test_unknown_version_is_404_and_bad_number_is_400(alice_reads, timezones, number):
    response = alice_reads.get(CONFIG, {"version": number})

    assert response.status_code == (404 if number == "7" else 400)
    assert response.json()["detail"]


def test_read_at_an_instant_gives_the_version_then(alice_reads, timezones, alice, bob):
    first = newest(timezones)
    second = publish_company(timezones, alice, bob, "hooli")
    between = second.effective_at - timedelta(microseconds=1)

    at_first = alice_reads.get(CONFIG, {"at": between.isoformat()})
    at_second = alice_reads.get(CONFIG, {"at": second.effective_at.isoformat()})

    assert at_first.json()["version"] == first.number
    assert at_second.json()["version"] == second.number


def test_read_at_an_instant_before_the_first_version_is_404(alice_reads, timezones):
    response = alice_reads.get(CONFIG, {"at": "2001-01-01T00:00:00Z"})

    assert response.status_code == 404
    assert "no live version" in response.json()["detail"]


@pytest.mark.parametrize(
    "at", ["yesterday", "2026-13-01T00:00:00Z", "2026-05-01T09:00:00", "x" * 500]
)
def test_unparsable_instant_is_400_naming_the_parameter(alice_reads, timezones, at):
    response = alice_reads.get(CONFIG, {"at": at})

    assert response.status_code == 400
    assert "at must be an ISO 8601 instant" in response.json()["detail"]


def test_asking_for_both_version_and_instant_is_400(alice_reads, timezones):
    response = alice_reads.get(CONFIG, {"version": 1, "at": "2030-01-01T00:00:00Z"})

    assert response.status_code == 400


def test_versions_list_is_paginated_newest_first_with_who_and_why(
    alice_reads, timezones, alice, bob, carol
):
    publish_company(timezones, alice, bob, "hooli")
    value = copy.deepcopy(newest(timezones).value)
    value["companies"].pop()
    cr = services.change_request_open(
        config=timezones, author=alice, value=value, title="Drop hooli", base_version=2
    )
    services.change_request_publish(change_request=cr, actor=carol, bypass_reason="Outage fix")

    body = alice_reads.get(VERSIONS).json()

    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    third, second, first = body["results"]
    assert [third["version"], second["version"], first["version"]] == [3, 2, 1]
    assert second["approved_by"] == ["bob"]
    assert second["published_by"] == "bob"
    assert second["bypass_reason"] == ""
    assert isinstance(second["change_request"], int)
    assert third["bypass_reason"] == "Outage fix"
    assert third["approved_by"] == []
    assert first["change_request"] is None
    assert set(first) == {
        "version",
        "effective_at",
        "published_at",
        "published_by",
        "approved_by",
        "bypass_reason",
        "change_request",
    }


def test_versions_list_pages_follow_next_links(alice_reads, metrics, alice):
    for n in range(3):
        value = copy.deepcopy(newest(metrics).value)
        value["metrics"].append({"name": f"m{n}", "kind": "count", "event": f"m{n}"})
        services.change_request_open(
            config=metrics,
            author=alice,
            value=value,
            title=f"Add m{n}",
            base_version=newest(metrics).number,
            publish=True,
        )
    url = "/api/v1/configs/sales-ops/custom-metrics/versions/"

    first = alice_reads.get(url, {"page_size": 2}).json()
    second = alice_reads.get(first["next"]).json()

    assert first["count"] == 4
    assert [item["version"] for item in first["results"]] == [4, 3]
    assert [item["version"] for item in second["results"]] == [2, 1]
    assert second["next"] is None
    assert second["previous"]


def test_bundle_holds_every_live_config_of_the_namespace(alice_reads, timezones):
    response = alice_reads.get(BUNDLE)

    assert response.status_code == 200
    body = response.json()
    assert body["namespace"] == "data-pipelines"
    assert set(body["configs"]) == {"company-timezones", "warehouse-connections"}
    entry = body["configs"]["company-timezones"]
    live = newest(timezones)
    assert entry["version"] == live.number
    assert entry["value"] == live.value
    assert set(entry) == {"version", "value", "overrides", "effective_at"}
    assert entry["overrides"] == []


def test_session_reads_work_like_token_reads(client, alice, timezones):
    client.force_login(alice)

    response = client.get(CONFIG)

    assert response.status_code == 200
    assert response.json()["key"] == "company-timezones"
    assert client.get(CONFIG, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


# --- who may read ----------------------------------------------------------------------------


def test_no_token_is_401_json(timezones):
    response = client_for().get(CONFIG)

    assert response.status_code == 401
    assert response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer cc_not-a-real-token", "Bearer", "Bearer a b", "Token x"]
)
def test_bad_token_is_401_json(timezones, header):
    api = client_for()
    api.credentials(HTTP_AUTHORIZATION=header)

    response = api.get(CONFIG)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_revoked_token_stops_working_at_once(alice, timezones):
    token, secret = make_token(alice, "data-pipelines")
    api = client_for(secret)
    assert api.get(CONFIG).status_code == 200

    config_services.token_revoke(token=token, actor=alice)

    response = api.get(CONFIG)
    assert response.status_code == 401
    assert response.json()["detail"] == "The token was revoked."


def test_expired_token_is_401(alice, timezones, time_machine):
    time_machine.move_to(NOW, tick=False)
    _token, secret = make_token(alice, "data-pipelines", expires_at=NOW + timedelta(days=1))
    api = client_for(secret)
    assert api.get(CONFIG).status_code == 200

    time_machine.move_to(NOW + timedelta(days=1), tick=False)

    assert api.get(CONFIG).json() == {"detail": "The token has expired."}


@pytest.mark.parametrize("url", [CONFIG, VALUE, VERSIONS, BUNDLE, CONFIG + "?version=1"])
def test_token_not_scoped_to_the_namespace_gets_404(alice, timezones, url):
    _token, secret = make_token(alice, "sales-ops")

    response = client_for(secret).get(url)

    assert response.status_code == 404
    assert response.json()["detail"]


def test_404_for_another_namespace_looks_like_404_for_an_unknown_config(alice, timezones):
    _token, secret = make_token(alice, "sales-ops")
    api = client_for(secret)

    hidden = api.get(CONFIG)
    unknown = api.get("/api/v1/configs/sales-ops/no-such-config/")

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()


def test_token_whose_user_lost_their_role_gets_404(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    namespace = Namespace.objects.get(slug="data-pipelines")
    namespace.memberships.filter(user=alice).delete()

    assert client_for(secret).get(CONFIG).status_code == 404
    assert client_for(secret).get(BUNDLE).status_code == 404


def test_token_of_a_deactivated_user_is_401(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)

    assert client_for(secret).get(CONFIG).status_code == 401


def test_unknown_namespace_bundle_is_404(alice_reads, demo):
    response = alice_reads.get("/api/v1/namespaces/nope/bundle/")

    assert response.status_code == 404
    assert response.json()["detail"]


# --- cost -------------------------------------------------------------------------------------


def test_warm_read_and_its_revalidation_cost_one_query(
    alice_reads, timezones, django_assert_max_num_queries
):
    etag = alice_reads.get(CONFIG)["ETag"]  # warms the prepared bytes and last-used time

    with django_assert_max_num_queries(1):
        assert alice_reads.get(CONFIG).status_code == 200
    with django_assert_max_num_queries(1):
        assert alice_reads.get(VALUE).status_code == 200
    with django_assert_max_num_queries(1):
        assert alice_reads.get(CONFIG, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_first_read_of_a_version_prepares_it_once(
    alice_reads, timezones, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):  # token (+ last used), then the version once
        alice_reads.get(CONFIG)


@pytest.mark.parametrize("size", [3, 30])
def test_bundle_costs_the_same_queries_whatever_its_size(
    alice, carol, demo, size, django_assert_max_num_queries
):
    namespace = config_services.namespace_create(slug="many", name="Many", actor=carol)
    config_services.membership_set(namespace=namespace, user=carol, role=Role.ADMIN)
    config_services.membership_set(namespace=namespace, user=alice, role=Role.VIEWER)
    for n in range(size):
        config_services.config_create(
            namespace=namespace, key=f"c{n}", name=f"C{n}", value={"n": n}, actor=carol
        )
    _token, secret = make_token(alice, "many")
    api = client_for(secret)
    url = "/api/v1/namespaces/many/bundle/"

    with django_assert_max_num_queries(4):  # token, last used, live versions, values
        cold = api.get(url)
    assert len(cold.json()["configs"]) == size
    with django_assert_max_num_queries(2):
        assert api.get(url).status_code == 200
    with django_assert_max_num_queries(2):
        assert api.get(url, HTTP_IF_NONE_MATCH=cold["ETag"]).status_code == 304


def test_every_way_to_read_the_live_version_gives_the_same_bytes(client, alice, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    token = client_for(secret)
    client.force_login(alice)

    answers = [
        token.get(CONFIG),  # the hot path
        token.get(CONFIG, {"version": newest(timezones).number}),  # DRF's path
        client.get(CONFIG),  # a session
    ]

    assert len({answer.content for answer in answers}) == 1
    assert len({answer["ETag"] for answer in answers}) == 1


def test_a_version_names_the_schema_it_was_checked_against(alice, carol, demo):
    legacy = Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")  # no schema
    loose = config_services.schema_create(name="anything", body={"type": "object"}, actor=carol)
    _token, secret = make_token(alice, "sales-ops")
    url = "/api/v1/configs/sales-ops/legacy-fields/"
    before = client_for(secret).get(url).json()

    config_services.config_update(config=legacy, actor=carol, schema=loose)
    forget_prepared()  # another server, which never prepared version 1 ...
    cache.clear()  # ... after the shared copy expired
    services.change_request_open(
        config=legacy,
        author=carol,
        value={"x": 1},
        title="Now checked",
        base_version=1,
        publish=True,
    )

    assert before["schema"] is None
    assert client_for(secret).get(url, {"version": 1}).json()["schema"] is None
    assert client_for(secret).get(url).json()["schema"] == "anything"
