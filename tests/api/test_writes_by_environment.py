"""Writes name their environment as reads do: `environment` in the body, else the token's (the
default one for people signed in); a token changes only the environment it reads; every change
in an answer names its environment."""

import copy

import pytest

from configs import environments
from configs.selectors import newest_version
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/configs/data-pipelines/company-timezones/change-requests/"


def _proposal(config, based_in, **extra):
    newest = newest_version(config, environments.named(based_in))
    value = copy.deepcopy(newest.value)
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    return {"value": value, "base_version": newest.number, "title": "Add Hooli", **extra}


def _writer(user, environment=None):
    _token, secret = make_token(
        user,
        "data-pipelines",
        write=True,
        environment=environments.named(environment) if environment else None,
    )
    return client_for(secret)


def test_a_development_token_proposes_in_development_and_its_author_publishes_it(alice, timezones):
    api = _writer(alice, "development")

    opened = api.post(URL, _proposal(timezones, "development"), format="json")

    assert opened.status_code == 201, opened.json()
    assert opened.json()["environment"] == "development"
    assert [c["environment"] for c in opened.json()["changes"]] == ["development"]
    published = api.post(f"/api/v1/change-requests/{opened.json()['id']}/publish/", {}, "json")
    assert published.status_code == 200, published.json()
    assert newest_version(timezones, environments.named("development")).published_by == alice
    # Production did not move.
    assert newest_version(timezones).number == 1


def test_alice_is_refused_publishing_in_production_without_an_approval(alice, timezones):
    api = _writer(alice)

    opened = api.post(URL, _proposal(timezones, "production"), format="json")
    published = api.post(f"/api/v1/change-requests/{opened.json()['id']}/publish/", {}, "json")

    assert opened.json()["environment"] == "production"
    assert published.status_code == 403
    assert newest_version(timezones).number == 1


def test_a_token_may_not_change_another_environment(alice, timezones):
    api = _writer(alice)  # reads (and changes) production only

    refused = api.post(URL, _proposal(timezones, "development", environment="development"), "json")

    assert refused.status_code == 404
    assert "production environment only" in refused.json()["detail"]


def test_people_name_the_environment_in_the_body(client, alice, timezones):
    client.force_login(alice)

    staging = client.post(
        URL, _proposal(timezones, "staging", environment="staging"), "application/json"
    )
    unknown = client.post(
        URL, _proposal(timezones, "staging", environment="qa"), "application/json"
    )

    assert staging.status_code == 201, staging.json()
    assert staging.json()["environment"] == "staging"
    assert unknown.status_code == 404
    assert "No environment called 'qa'" in unknown.json()["detail"]


def test_a_set_changes_each_config_in_the_environment_it_names(client, alice, timezones):
    client.force_login(alice)
    changes = [
        {"namespace": "data-pipelines", "key": "company-timezones", **_proposal(timezones, env)}
        | {"environment": env}
        for env in ("development", "production")
    ]
    for change in changes:
        del change["title"]

    opened = client.post(
        "/api/v1/change-requests/",
        {"title": "Hooli everywhere", "changes": changes},
        "application/json",
    )

    assert opened.status_code == 201, opened.json()
    assert sorted(c["environment"] for c in opened.json()["changes"]) == [
        "development",
        "production",
    ]


def test_a_token_bound_to_staging_neither_reads_nor_approves_a_production_change(
    client, alice, bob, timezones
):
    client.force_login(alice)
    opened = client.post(URL, _proposal(timezones, "production"), "application/json")
    assert opened.status_code == 201, opened.json()
    address = f"/api/v1/change-requests/{opened.json()['id']}/"
    staging_reviewer = _writer(bob, "staging")
    production_reviewer = _writer(bob, "production")

    read = staging_reviewer.get(address)
    approved = staging_reviewer.post(address + "approve/", {"comment": "ok"}, "json")

    assert read.status_code == 404
    assert approved.status_code == 404
    assert "staging environment only" in approved.json()["detail"]
    assert client.get(address).json()["approvals"] == []
    # The production token bob keeps for production still reviews it.
    assert production_reviewer.get(address).status_code == 200
