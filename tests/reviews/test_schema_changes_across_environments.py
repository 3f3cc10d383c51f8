"""Schemas are shared by every environment: one schema change migrates the values of every
environment in one change request, each value continuing its own environment's line, and
publishes them all, or nothing."""

import pytest

from common.errors import Conflict
from configs import environments
from configs.selectors import live_version, versions_of
from reviews import services
from reviews.kinds.schema import InvalidValues
from tests.reviews.test_schema_changes import open_change, owner_team
from tests.values import with_company


def _publish_in(config, name, value, actor):
    env = environments.named(name)
    change_request = services.change_request_open(
        config=config,
        author=actor,
        value=value,
        title=f"Try it in {name}",
        base_version=versions_of(config, env).latest("number").number,
        environment=env,
    )
    services.change_request_publish(change_request=change_request, actor=actor, bypass_reason="t")
    return env


@pytest.fixture
def staging_ahead(timezones, carol):
    """Staging's company-timezones has one company more than the other environments."""
    return _publish_in(timezones, "staging", with_company(timezones, "initech"), carol)


def test_one_schema_change_migrates_every_environment_s_value(carol, bob, timezones, staging_ahead):
    staging_base = versions_of(timezones, staging_ahead).latest("number").number
    change_request = open_change(timezones, carol)

    lines = {
        (change.environment.name, change.base_version.number): change
        for change in change_request.changes.filter(config__isnull=False).select_related(
            "environment", "base_version"
        )
    }
    assert set(lines) == {("development", 1), ("staging", staging_base), ("production", 1)}
    staging = lines["staging", staging_base].value
    assert [c["company_id"] for c in staging["companies"]][-1] == "initech"
    assert all(c["owner_team"] == "data" for c in staging["companies"])

    services.change_request_approve(change_request=change_request, reviewer=bob)
    services.change_request_publish(change_request=change_request, actor=bob)

    for env in environments.every():
        live = live_version(timezones, environment=env)
        assert all(c["owner_team"] == "data" for c in live.value["companies"]), env.name
    assert live_version(timezones, environment=staging_ahead).number == staging_base + 1
    assert live_version(timezones).number == 2
    assert (
        len(live_version(timezones, environment=staging_ahead).value["companies"])
        == len(live_version(timezones).value["companies"]) + 1
    )


def test_a_value_only_one_environment_cannot_migrate_is_named_with_its_environment(
    carol, timezones, staging_ahead
):
    # Without a default, every environment's value needs one given: the refusal names each,
    # the default environment's as before and the others with "@environment".
    with pytest.raises(InvalidValues) as refused:
        open_change(timezones, carol, body=owner_team(timezones.schema.body, default=None))

    named = {error["config"] for error in refused.value.errors}
    assert named == {
        "data-pipelines/company-timezones",
        "data-pipelines/company-timezones@staging",
        "data-pipelines/company-timezones@development",
    }


def test_a_publish_in_one_environment_conflicts_the_schema_change(
    carol, bob, timezones, staging_ahead
):
    change_request = open_change(timezones, carol)
    services.change_request_approve(change_request=change_request, reviewer=bob)
    _publish_in(timezones, "development", with_company(timezones, "hooli"), carol)

    with pytest.raises(Conflict, match="company-timezones@development"):
        services.change_request_publish(change_request=change_request, actor=bob)

    assert live_version(timezones, environment=environments.named("development")).number == 2
    assert live_version(timezones).number == 1
