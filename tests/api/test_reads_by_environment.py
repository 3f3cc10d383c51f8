"""Reads by environment: `?environment=` on every read, answers that name their environment, an
ETag per environment, and tokens that read their own environment only."""

import copy
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from configs import consumers, environments
from configs.models import ApiToken
from configs.selectors import newest_version
from configs.services import version_publish
from reviews import services
from reviews.services import Proposed
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"
BUNDLE = "/api/v1/namespaces/data-pipelines/bundle/"


def staging():
    return environments.named("staging")


def publish_in_staging(config, actor, company_id="hooli"):
    """A staging version with one company more than production's."""
    env = staging()
    value = copy.deepcopy(newest_version(config, env).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    with transaction.atomic():
        return version_publish(
            config=config,
            value=value,
            base_number=newest_version(config, env).number,
            actor=actor,
            environment=env,
        )


def reader(user, environment=None):
    """A read token of `user`'s for data-pipelines, bound to `environment` (a name) if given."""
    env = environments.named(environment) if environment else None
    _token, secret = make_token(user, "data-pipelines", "sales-ops", environment=env)
    return client_for(secret)


def companies(body):
    return [company["company_id"] for company in body["value"]["companies"]]


def test_environments_are_listed_in_promotion_order(alice):
    body = reader(alice).get("/api/v1/environments/").json()

    assert body == [
        {"name": "development", "title": "Development", "position": 0},
        {"name": "staging", "title": "Staging", "position": 1},
        {"name": "production", "title": "Production", "position": 2},
    ]


def test_environments_are_listed_for_people_signed_in_and_not_for_strangers(client, dave):
    assert client.get("/api/v1/environments/").status_code == 401
    client.force_login(dave)
    assert [env["name"] for env in client.get("/api/v1/environments/").json()] == [
        "development",
        "staging",
        "production",
    ]


def test_staging_and_production_reads_differ_each_with_its_environment_and_etag(
    alice, carol, timezones
):
    publish_in_staging(timezones, carol)

    on_staging = reader(alice, "staging").get(CONFIG, {"environment": "staging"})
    on_production = reader(alice, "production").get(CONFIG, {"environment": "production"})

    assert on_staging.status_code == on_production.status_code == 200
    assert on_staging.json()["environment"] == "staging"
    assert on_production.json()["environment"] == "production"
    assert "hooli" in companies(on_staging.json())
    assert "hooli" not in companies(on_production.json())
    assert on_staging["ETag"] != on_production["ETag"]


def test_a_staging_token_reads_staging_without_asking_and_gets_404_for_production(
    alice, carol, timezones
):
    publish_in_staging(timezones, carol)
    api = reader(alice, "staging")

    assert api.get(CONFIG).json()["environment"] == "staging"
    assert "hooli" in companies(api.get(CONFIG).json())
    refused = api.get(CONFIG, {"environment": "production"})
    assert refused.status_code == 404
    assert "staging" in refused.json()["detail"]
    assert api.get(BUNDLE, {"environment": "production"}).status_code == 404
    assert api.get(BUNDLE).json()["environment"] == "staging"


def test_a_token_made_without_an_environment_reads_the_default_one_only(alice, timezones):
    api = reader(alice)

    assert api.get(CONFIG).json()["environment"] == "production"
    assert api.get(CONFIG, {"environment": "production"}).status_code == 200
    assert api.get(CONFIG, {"environment": "staging"}).status_code == 404


@pytest.mark.parametrize("url", [CONFIG, CONFIG + "value/", CONFIG + "versions/", BUNDLE])
def test_an_unknown_environment_is_404_json(alice, timezones, url):
    response = reader(alice).get(url, {"environment": "moon"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "moon" in response.json()["detail"]


def test_the_same_urls_without_an_environment_answer_as_before(alice, timezones):
    api = reader(alice)
    plain, named = api.get(CONFIG), api.get(CONFIG, {"environment": "production"})

    assert plain.content == named.content
    assert plain["ETag"] == named["ETag"]
    assert api.get(BUNDLE)["ETag"] == api.get(BUNDLE, {"environment": "production"})["ETag"]


def test_people_read_any_environment_by_name(client, dave, carol, timezones):
    publish_in_staging(timezones, carol)
    client.force_login(dave)

    assert client.get(CONFIG).json()["environment"] == "production"
    staged = client.get(CONFIG, {"environment": "staging"}).json()
    assert staged["environment"] == "staging"
    assert "hooli" in companies(staged)
    assert client.get(CONFIG, {"environment": "development"}).json()["version"] == 1


def test_bundles_name_their_environment_and_differ_in_etag_even_with_equal_values(
    client, dave, timezones
):
    client.force_login(dave)
    production = client.get(BUNDLE)
    development = client.get(BUNDLE, {"environment": "development"})

    assert production.json()["environment"] == "production"
    assert development.json()["environment"] == "development"
    assert production.json()["configs"].keys() == development.json()["configs"].keys()
    assert production["ETag"] != development["ETag"]
    # Each environment's bundle is kept apart: reading one again never answers the other.
    assert client.get(BUNDLE).json()["environment"] == "production"
    assert client.get(BUNDLE, {"environment": "development"}).json()["environment"] == "development"


def test_a_bundle_etag_from_one_environment_is_no_304_in_another(client, dave, timezones):
    client.force_login(dave)
    etag = client.get(BUNDLE)["ETag"]

    again = client.get(BUNDLE, {"environment": "staging"}, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 200
    assert again.json()["environment"] == "staging"


def test_versions_pins_and_instants_are_the_environment_s_own(alice, carol, timezones):
    published = publish_in_staging(timezones, carol)
    api = reader(alice, "staging")

    versions = api.get(CONFIG + "versions/").json()["results"]
    in_staging = timezones.versions.filter(environment=staging().id).order_by("-number")
    assert [v["version"] for v in versions] == [v.number for v in in_staging]
    assert versions[0]["version"] == published.number
    pinned = api.get(CONFIG, {"environment": "staging", "version": published.number})
    assert pinned.json()["environment"] == "staging" and "hooli" in companies(pinned.json())
    at = published.effective_at.isoformat()
    assert "hooli" in companies(api.get(CONFIG, {"at": at}).json())
    production = reader(alice).get(CONFIG + "versions/").json()["results"]
    assert len(production) == len(timezones.versions.filter(environment=environments.default().id))


def test_a_preview_is_of_the_change_in_the_environment_asked_for(alice, client, timezones):
    env = staging()
    value = copy.deepcopy(newest_version(timezones, env).value)
    value["companies"].append({"company_id": "initech", "timezone": "UTC"})
    cr = services.change_request_open(
        author=alice,
        title="Initech in staging",
        changes=[
            Proposed(
                config=timezones,
                value=value,
                base_version=newest_version(timezones, env).number,
                environment=env,
            )
        ],
    )
    client.force_login(alice)

    preview = client.get(CONFIG, {"change_request": cr.pk, "environment": "staging"})
    assert preview.status_code == 200
    assert preview.json()["environment"] == "staging"
    assert "initech" in companies(preview.json())
    bundle = client.get(BUNDLE, {"change_request": cr.pk, "environment": "staging"}).json()
    assert bundle["environment"] == "staging"
    assert client.get(CONFIG, {"change_request": cr.pk}).status_code == 404


def test_evaluations_are_of_the_environment_asked_for(client, dave, carol, timezones):
    published = publish_in_staging(timezones, carol)
    client.force_login(dave)
    url = CONFIG + "evaluate/"

    staged = client.post(url + "?environment=staging", {"context": {}}, "application/json")
    produced = client.post(url, {"context": {}}, "application/json")
    every = client.post(
        "/api/v1/namespaces/data-pipelines/evaluate/?environment=staging",
        {"context": {}},
        "application/json",
    )

    assert staged.json()["version"] == published.number
    assert produced.json()["version"] == newest_version(timezones).number
    assert every.json()["configs"]["company-timezones"]["version"] == published.number
    assert client.post(url + "?environment=moon", {}, "application/json").status_code == 404


def test_consumers_are_listed_per_environment(alice, dave, carol, timezones):
    publish_in_staging(timezones, carol)
    reader(alice, "staging").get(CONFIG)
    reader(alice).get(CONFIG)
    consumers.flush()
    looker = reader(dave)

    produced = looker.get(CONFIG + "consumers/", {"environment": "production"}).json()
    assert len(produced) == 1
    dave_staging = reader(dave, "staging")
    assert len(dave_staging.get(CONFIG + "consumers/").json()) == 1
    assert dave_staging.get(CONFIG + "consumers/", {"environment": "production"}).status_code == 404


def test_create_token_reads_the_environment_it_is_given(alice, timezones):
    out = io.StringIO()
    call_command(
        "create_token",
        "--user=alice",
        "--namespace=data-pipelines",
        "--environment=staging",
        stdout=out,
        stderr=io.StringIO(),
    )
    secret = out.getvalue().strip().splitlines()[-1]

    assert ApiToken.objects.get().environment.name == "staging"
    api = client_for(secret)
    assert api.get(CONFIG).json()["environment"] == "staging"
    assert api.get(CONFIG, {"environment": "production"}).status_code == 404


def test_create_token_refuses_an_unknown_environment_naming_the_known_ones(alice, timezones):
    with pytest.raises(CommandError, match="Unknown environment: moon.*staging"):
        call_command(
            "create_token",
            "--user=alice",
            "--namespace=data-pipelines",
            "--environment=moon",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ApiToken.objects.exists()


def test_the_token_page_offers_the_environments_and_lists_each_token_s(client, alice, timezones):
    client.force_login(alice)
    page = client.get("/tokens/")
    assert page.context["form"]["environment"].value() == "production"
    assert 'value="staging"' in page.content.decode()

    created = client.post(
        "/tokens/",
        {
            "name": "staging load",
            "namespaces": [timezones.namespace.pk],
            "environment": "staging",
            "expires": "90",
        },
    )

    assert created.status_code == 200
    assert ApiToken.objects.get().environment.name == "staging"
    secret = created.context["created"]["secret"]
    assert client_for(secret).get(CONFIG).json()["environment"] == "staging"
    listed = client.get("/tokens/").content.decode()
    assert "<td>staging</td>" in listed


def test_a_token_read_naming_its_own_environment_takes_the_hot_path(alice, timezones, monkeypatch):
    api = reader(alice, "staging")
    assert api.get(CONFIG, {"environment": "staging"}).status_code == 200

    def refuse(*args, **kwargs):
        raise AssertionError("DRF's view answered a read the hot path answers")

    from configs.api.views import ConfigRead, NamespaceBundle

    monkeypatch.setattr(ConfigRead, "get", refuse)
    monkeypatch.setattr(NamespaceBundle, "get", refuse)
    assert api.get(CONFIG, {"environment": "staging"}).json()["environment"] == "staging"
    assert api.get(BUNDLE, {"environment": "staging"}).json()["environment"] == "staging"
    assert api.get(CONFIG).json()["environment"] == "staging"


def test_a_warm_read_naming_its_environment_costs_one_query(
    alice, timezones, django_assert_num_queries
):
    api = reader(alice, "staging")
    api.get(CONFIG, {"environment": "staging"})  # prepares the answer, writes last_used_at

    with django_assert_num_queries(1):  # the token's lookup, nothing more
        response = api.get(CONFIG, {"environment": "staging"})

    assert response.status_code == 200


def test_after_a_rename_reads_name_the_environment_by_its_new_name(alice, django_user_model):
    from configs.api import reads
    from configs.models import Environment
    from configs.services import environment_update

    bound = reader(alice, "staging")
    flags = reader(alice, "staging")
    before = bound.get(CONFIG).json()
    assert before["environment"] == "staging"
    flag = "/ofrep/v1/evaluate/flags/data-pipelines.company-timezones"
    assert flags.post(flag, {"context": {}}, format="json").json()["metadata"]["environment"] == (
        "staging"
    )

    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    environment_update(environment=Environment.objects.get(name="staging"), actor=root, name="qa")

    for answer in (bound.get(CONFIG), bound.get(CONFIG + "?environment=qa")):
        assert answer.status_code == 200
        assert answer.json()["environment"] == "qa"
        assert answer.json()["value"] == before["value"]
    assert flags.post(flag, {"context": {}}, format="json").json()["metadata"]["environment"] == (
        "qa"
    )
    # Another server, whose memory was just emptied, does not take the old bytes from the
    # cache the servers share either.
    reads.forget_prepared()
    assert bound.get(CONFIG).json()["environment"] == "qa"
