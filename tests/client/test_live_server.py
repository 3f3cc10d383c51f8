"""The client against the real API, served by pytest-django's live server."""

import copy

import pytest
from config_console_client import (
    AuthenticationError,
    ConfigClient,
    ConfigNotFound,
    ProposalRefused,
    ServerUnreachableWarning,
)

from configs.models import Namespace
from configs.selectors import newest_version as newest
from configs.services import token_create
from reviews import services as review_services
from tests.client.stub import StubServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(alice):
    """A read token of alice's for both demo namespaces, as a pipeline would hold."""
    namespaces = list(Namespace.objects.filter(slug__in=["data-pipelines", "sales-ops"]))
    _, secret = token_create(user=alice, name="pipeline", namespaces=namespaces, write=False)
    return secret


@pytest.fixture
def make_client(live_server, token, tmp_path):
    def make(**kwargs):
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        return ConfigClient(live_server.url, token, **kwargs)

    return make


def publish_metric(config, author, name):
    """Publish a new version of sales-ops/custom-metrics (a namespace that needs no approval)."""
    version = newest(config)
    value = copy.deepcopy(version.value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    review_services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Count {name}",
        base_version=version.number,
        publish=True,
    )
    return value


def test_client_reads_the_live_value(make_client, timezones):
    client = make_client()

    document = client.get_config("data-pipelines", "company-timezones")

    live = newest(timezones)
    assert client.get("data-pipelines", "company-timezones") == live.value
    assert document["version"] == live.number
    assert document["namespace"] == "data-pipelines"
    assert client.stats.requests == 1


def test_client_sees_a_new_version_after_ttl_and_304_while_unchanged(make_client, metrics, alice):
    client = make_client(ttl=0)
    first = client.get("sales-ops", "custom-metrics")

    assert client.get("sales-ops", "custom-metrics") == first
    assert client.stats.not_modified == 1

    value = publish_metric(metrics, alice, "signups")

    assert client.get("sales-ops", "custom-metrics") == value
    assert client.get_config("sales-ops", "custom-metrics")["version"] == newest(metrics).number
    assert client.stats.fetched == 2


def test_server_down_serves_the_last_known_good_value_with_a_warning(
    live_server, token, timezones, tmp_path
):
    gateway = StubServer(forward_to=live_server.url)
    client = ConfigClient(gateway.url, token, cache_dir=tmp_path, ttl=0)
    value = client.get("data-pipelines", "company-timezones")
    client.get("data-pipelines", "company-timezones")
    assert "If-None-Match" not in gateway.requests[0]["headers"]
    assert gateway.requests[1]["headers"]["If-None-Match"]
    assert client.stats.not_modified == 1

    gateway.stop()

    with pytest.warns(ServerUnreachableWarning, match="from memory"):
        assert client.get("data-pipelines", "company-timezones") == value
    restarted = ConfigClient(gateway.url, token, cache_dir=tmp_path)
    with pytest.warns(ServerUnreachableWarning, match="from disk cache"):
        assert restarted.get("data-pipelines", "company-timezones") == value


def test_pinned_version_stays_after_a_publish(make_client, metrics, alice):
    client = make_client()
    old = newest(metrics)
    publish_metric(metrics, alice, "signups")

    assert client.get("sales-ops", "custom-metrics", version=old.number) == old.value


def test_bundle_holds_every_config_of_the_namespace(make_client, metrics, alice):
    client = make_client(ttl=0)

    bundle = client.bundle("sales-ops")

    assert set(bundle) == set(metrics.namespace.configs.values_list("key", flat=True))
    assert bundle["custom-metrics"] == newest(metrics).value
    client.bundle("sales-ops")
    assert client.stats.not_modified == 1

    value = publish_metric(metrics, alice, "refunds")
    assert client.bundle("sales-ops")["custom-metrics"] == value


def test_unknown_config_gives_the_default(make_client, demo):
    client = make_client()

    assert client.get("data-pipelines", "no-such-config", default={}) == {}
    with pytest.raises(ConfigNotFound):
        client.get("data-pipelines", "no-such-config")


def test_bad_token_raises(live_server, demo, tmp_path):
    client = ConfigClient(live_server.url, "cc_not-a-token", cache_dir=tmp_path)

    with pytest.raises(AuthenticationError):
        client.get("data-pipelines", "company-timezones", default=None)


def test_override_wins_over_the_live_server(make_client, timezones):
    client = make_client()

    with client.override("data-pipelines", "company-timezones", {"companies": []}):
        assert client.get("data-pipelines", "company-timezones") == {"companies": []}

    assert client.stats.requests == 0


def test_the_client_opens_a_change_request_over_two_configs(
    live_server, alice, timezones, tmp_path
):
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _, secret = token_create(user=alice, name="automation", namespaces=namespaces, write=True)
    client = ConfigClient(live_server.url, secret, cache_dir=tmp_path)
    zones = copy.deepcopy(newest(timezones).value)
    zones["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    warehouses = client.get_config("data-pipelines", "warehouse-connections")
    connections = copy.deepcopy(warehouses["value"])
    connections["connections"].append(
        {
            "company_id": "hooli",
            "warehouse": "snowflake",
            "database": "ANALYTICS",
            "schema": "EVENTS",
            "credential_ref": "vault://warehouses/hooli",
        }
    )

    opened = client.propose(
        [
            {
                "namespace": "data-pipelines",
                "key": "company-timezones",
                "value": zones,
                "base_version": 1,
            },
            {
                "namespace": "data-pipelines",
                "key": "warehouse-connections",
                "value": connections,
                "base_version": warehouses["version"],
            },
        ],
        title="Onboard hooli",
    )

    assert opened["status"] == "in_review"
    assert [c["key"] for c in opened["changes"]] == ["company-timezones", "warehouse-connections"]


def test_a_refused_proposal_names_the_config_and_path(live_server, alice, timezones, tmp_path):
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _, secret = token_create(user=alice, name="automation", namespaces=namespaces, write=True)
    client = ConfigClient(live_server.url, secret, cache_dir=tmp_path)
    zones = copy.deepcopy(newest(timezones).value)
    zones["companies"].append({"company_id": "hooli", "timezone": "Mars/Olympus"})

    with pytest.raises(ProposalRefused) as refused:
        client.propose(
            [
                {
                    "namespace": "data-pipelines",
                    "key": "company-timezones",
                    "value": zones,
                    "base_version": 1,
                },
                {
                    "namespace": "data-pipelines",
                    "key": "warehouse-connections",
                    "value": {"connections": []},
                    "base_version": 1,
                },
            ],
            title="Onboard hooli",
        )

    assert refused.value.status == 400
    assert refused.value.errors[0]["change"] == "data-pipelines/company-timezones"
    assert refused.value.errors[0]["path"].startswith("/companies/")
