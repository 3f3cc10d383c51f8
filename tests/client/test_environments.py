"""The client reads one environment: `environment=` or $CONFIG_CONSOLE_ENVIRONMENT, sent as
?environment= on every read (and watch); without either, the token's own."""

import copy
from datetime import UTC, datetime

import pytest
from config_console_client import ConfigClient, ConfigNotFound, ServerUnreachable
from django.db import transaction

from configs import environments
from configs.models import Namespace
from configs.selectors import newest_version
from configs.services import token_create, version_publish

TIMEZONES = "/api/v1/configs/data-pipelines/company-timezones/"
VALUE = {"companies": [{"company_id": "acme", "timezone": "Europe/Paris"}]}


def test_without_an_environment_no_parameter_is_sent(stub, make_client):
    stub.publish("data-pipelines", "company-timezones", VALUE, version=3)

    assert make_client().get("data-pipelines", "company-timezones") == VALUE
    assert [request["path"] for request in stub.requests] == [TIMEZONES]


def test_the_environment_argument_is_sent_on_every_read(stub, make_client):
    stub.publish(
        "data-pipelines", "company-timezones", VALUE, version=3, query="?environment=staging"
    )
    stub.publish(
        "data-pipelines",
        "company-timezones",
        VALUE,
        version=2,
        query="?environment=staging&version=2",
    )
    client = make_client(environment="staging")

    assert client.get("data-pipelines", "company-timezones") == VALUE
    assert client.get("data-pipelines", "company-timezones", version=2) == VALUE
    assert [request["path"] for request in stub.requests] == [
        TIMEZONES + "?environment=staging",
        TIMEZONES + "?environment=staging&version=2",
    ]
    assert "environment='staging'" in repr(client)


def test_the_environment_variable_names_it_and_the_argument_wins(stub, make_client, monkeypatch):
    monkeypatch.setenv("CONFIG_CONSOLE_ENVIRONMENT", "staging")

    assert make_client().environment == "staging"
    assert make_client(environment="development").environment == "development"


def test_an_environment_the_token_may_not_read_is_not_found_naming_it(stub, make_client):
    client = make_client(environment="production")

    with pytest.raises(ConfigNotFound, match="in environment production"):
        client.get("data-pipelines", "company-timezones")
    assert client.get("data-pipelines", "company-timezones", default=None) is None


def test_copies_on_disk_are_kept_per_environment(stub, make_client):
    stub.publish(
        "data-pipelines", "company-timezones", VALUE, version=3, query="?environment=staging"
    )
    make_client(environment="staging").get("data-pipelines", "company-timezones")
    stub.stop()

    with pytest.raises(ServerUnreachable):  # no copy of production's: never staging's
        make_client(environment="production").get("data-pipelines", "company-timezones")
    kept = make_client(environment="staging").get("data-pipelines", "company-timezones")
    assert kept == VALUE


@pytest.mark.django_db(transaction=True)
def test_a_staging_client_reads_staging_from_the_real_api(live_server, alice, carol, tmp_path):
    staging = environments.named("staging")
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _, secret = token_create(user=alice, name="staging", namespaces=namespaces, environment=staging)
    _, production_secret = token_create(user=alice, name="production", namespaces=namespaces)
    config = namespaces[0].configs.get(key="company-timezones")
    value = copy.deepcopy(newest_version(config, staging).value)
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    with transaction.atomic():
        version_publish(
            config=config,
            value=value,
            base_number=newest_version(config, staging).number,
            actor=carol,
            environment=staging,
            effective_at=datetime.now(UTC),
        )

    on_staging = ConfigClient(live_server.url, secret, environment="staging", cache_dir=None)
    staged = on_staging.get_config("data-pipelines", "company-timezones")
    on_production = ConfigClient(live_server.url, production_secret, cache_dir=None)
    produced = on_production.get_config("data-pipelines", "company-timezones")

    assert staged["environment"] == "staging" and staged["value"] == value
    assert produced["environment"] == "production" and produced["value"] != value
    bundle = on_staging.get_bundle("data-pipelines")
    assert bundle["environment"] == "staging"
    assert bundle["configs"]["company-timezones"]["value"] == value
    wrong = ConfigClient(live_server.url, secret, environment="production", cache_dir=None)
    with pytest.raises(ConfigNotFound, match="staging"):
        wrong.get("data-pipelines", "company-timezones")


def test_a_watch_follows_the_client_s_environment(stub, make_client):
    import time

    watch = make_client(environment="staging").watch("data-pipelines")
    deadline = time.monotonic() + 5
    while not stub.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    watch.stop()

    assert (
        stub.requests[0]["path"] == "/api/v1/namespaces/data-pipelines/watch/?environment=staging"
    )
