"""Review policy per namespace and environment, overridable per config: development needs no
approval in the demo, production needs what the namespace says, and a set follows the
strictest policy of each environment it changes."""

import copy

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from common.errors import RuleViolation
from configs import environments, policies
from configs.models import Environment, ReviewPolicy
from configs.selectors import newest_version
from reviews import services
from reviews.gate import can_publish, gate_for, may_bypass

pytestmark = pytest.mark.django_db


def env(name):
    return environments.named(name)


def with_company(config, environment, company_id):
    value = copy.deepcopy(newest_version(config, environment).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    return value


def proposed(config, environment_name, company_id="hooli"):
    environment = env(environment_name)
    return services.Proposed(
        config,
        with_company(config, environment, company_id),
        newest_version(config, environment).number,
        None,
        environment,
    )


def open_in(author, *changes, publish=False):
    return services.change_request_open(
        author=author, title="Add Hooli", changes=list(changes), publish=publish
    )


def test_alice_publishes_in_development_without_approval(timezones, alice):
    before = newest_version(timezones, env("development")).number

    cr = open_in(alice, proposed(timezones, "development"), publish=True)

    assert cr.status == cr.Status.PUBLISHED
    assert newest_version(timezones, env("development")).number == before + 1
    assert newest_version(timezones, env("development")).published_by == alice


def test_alice_is_refused_in_production_until_bob_approves(timezones, alice, bob):
    cr = open_in(alice, proposed(timezones, "production"))

    assert not can_publish(alice, cr)
    with pytest.raises(PermissionDenied):
        services.change_request_publish(change_request=cr, actor=alice)
    assert gate_for(cr).missing == ["1 more approval"]

    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)

    assert newest_version(timezones, env("production")).number == 2


def test_a_set_spanning_development_and_production_needs_productions_approvals(
    timezones, alice, bob
):
    cr = open_in(alice, proposed(timezones, "development"), proposed(timezones, "production"))

    assert gate_for(cr).required == 1
    assert not can_publish(alice, cr)
    with pytest.raises(PermissionDenied):
        services.change_request_publish(change_request=cr, actor=alice)

    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)
    assert newest_version(timezones, env("development")).number == 2
    assert newest_version(timezones, env("production")).number == 2


def test_the_strictest_environment_counts_whichever_it_is(timezones, alice, carol):
    staging = Environment.objects.get(name="staging")
    policies.policy_set(
        namespace=timezones.namespace, environment=staging, actor=carol, required_approvals=2
    )

    cr = open_in(alice, proposed(timezones, "staging"), proposed(timezones, "production"))

    assert gate_for(cr).required == 2
    assert gate_for(cr).missing == ["2 more approvals"]


def test_bypass_is_refused_where_the_policy_forbids_it(timezones, alice, carol):
    production = Environment.objects.get(name="production")
    policies.policy_set(
        namespace=timezones.namespace, environment=production, actor=carol, bypass_allowed=False
    )
    cr = open_in(alice, proposed(timezones, "production"))

    assert not may_bypass(carol, cr)
    with pytest.raises(PermissionDenied, match="data-pipelines in production allows no bypass"):
        services.change_request_publish(change_request=cr, actor=carol, bypass_reason="Urgent")
    assert newest_version(timezones, env("production")).number == 1


def test_bypass_still_works_in_an_environment_that_allows_it(timezones, alice, carol):
    production = Environment.objects.get(name="production")
    policies.policy_set(
        namespace=timezones.namespace, environment=production, actor=carol, bypass_allowed=False
    )
    cr = open_in(alice, proposed(timezones, "staging"))

    assert may_bypass(carol, cr)
    services.change_request_publish(change_request=cr, actor=carol, bypass_reason="Urgent")

    assert newest_version(timezones, env("staging")).bypass_reason == "Urgent"


def test_a_configs_policy_in_an_environment_overrides_its_namespaces(timezones, alice, carol):
    development = Environment.objects.get(name="development")
    policies.policy_set(
        namespace=timezones.namespace,
        environment=development,
        config=timezones,
        actor=carol,
        required_approvals=1,
    )

    cr = open_in(alice, proposed(timezones, "development"))

    assert gate_for(cr).missing == ["1 more approval"]
    with pytest.raises(PermissionDenied):
        services.change_request_publish(change_request=cr, actor=alice)


def test_each_field_falls_back_on_its_own(timezones, carol):
    """config@env → namespace@env → the config's own setting → the namespace's."""
    staging = env("staging")
    assert policies.of(timezones, staging) == policies.Policy(1, False, True)

    timezones.owner_approval_required = True
    timezones.save()
    assert policies.of(timezones, staging) == policies.Policy(1, True, True)

    policies.policy_set(
        namespace=timezones.namespace,
        environment=Environment.objects.get(name="staging"),
        actor=carol,
        required_approvals=3,
    )
    assert policies.of(timezones, staging) == policies.Policy(3, True, True)

    policies.policy_set(
        namespace=timezones.namespace,
        environment=Environment.objects.get(name="staging"),
        config=timezones,
        actor=carol,
        owner_approval_required=False,
    )
    assert policies.of(timezones, staging) == policies.Policy(3, False, True)
    # Development's policy (the demo's) says 0 and no owner; the config's own setting is
    # below it.
    assert policies.of(timezones, env("development")) == policies.Policy(0, False, True)


def test_an_owner_is_required_only_where_the_policy_says(timezones, alice, bob, carol):
    production = Environment.objects.get(name="production")
    policies.policy_set(
        namespace=timezones.namespace,
        environment=production,
        actor=carol,
        owner_approval_required=True,
    )

    in_development = open_in(alice, proposed(timezones, "development"))
    in_production = open_in(alice, proposed(timezones, "production", "initrode"))

    assert gate_for(in_development).satisfied
    assert not gate_for(in_production).owner_approved
    services.change_request_approve(change_request=in_production, reviewer=bob)  # bob owns it
    assert gate_for(in_production).satisfied


def test_policy_changes_are_for_admins_and_audited(timezones, alice, carol):
    staging = Environment.objects.get(name="staging")
    with pytest.raises(PermissionDenied):
        policies.policy_set(
            namespace=timezones.namespace, environment=staging, actor=alice, required_approvals=0
        )

    policies.policy_set(
        namespace=timezones.namespace,
        environment=staging,
        actor=carol,
        required_approvals=2,
        reason="Staging feeds the partner demo",
    )

    event = AuditEvent.objects.filter(action="namespace.policy_changed").latest("id")
    assert event.actor == carol
    assert event.reason == "Staging feeds the partner demo"
    assert event.details["environment"] == "staging"
    assert event.details["changes"] == {"required_approvals": {"before": None, "after": 2}}


def test_a_policy_with_nothing_set_is_removed(timezones, carol):
    staging = Environment.objects.get(name="staging")
    policies.policy_set(
        namespace=timezones.namespace, environment=staging, actor=carol, required_approvals=2
    )
    policies.policy_set(
        namespace=timezones.namespace, environment=staging, actor=carol, required_approvals=None
    )

    assert not ReviewPolicy.objects.filter(environment=staging).exists()


def test_a_new_configs_first_value_passes_every_environments_policy(timezones, alice, carol):
    from reviews.new_configs import config_propose

    production = Environment.objects.get(name="production")
    sales = timezones.namespace.__class__.objects.get(slug="sales-ops")
    policies.policy_set(namespace=sales, environment=production, actor=carol, required_approvals=1)

    new = config_propose(
        namespace=sales, key="regions", name="Regions", value={"a": 1}, actor=alice, title="New"
    )

    assert new.change_request.status == new.change_request.Status.IN_REVIEW
    assert gate_for(new.change_request).required == 1


def test_refused_publish_says_what_is_missing_in_words(timezones, alice, bob):
    cr = open_in(alice, proposed(timezones, "production"))

    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=cr, actor=bob)
