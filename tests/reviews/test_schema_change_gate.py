"""The gate of a schema change whose configs sit in two namespaces with different policies:
data-pipelines asks for one approval, sales-ops for an owner's approval of each config. The
strictest applies, approvals count only from people who review in both (superusers anywhere),
and each config that needs its owner's approval needs one of its own owners. The same with 3
configs as with 30, on the page and in the API as in the service."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from configs import environments
from configs.models import Config, Membership, Namespace, Role, Version
from reviews import services as review_services
from reviews.gate import gate_for
from tests.api.conftest import client_for, make_token
from tests.reviews.test_schema_changes import items, owner_team
from tests.values import in_default_environment

pytestmark = pytest.mark.django_db

MISSING_BOTH = ["1 more approval", "an approval from one of the config's owners"]
MISSING_OWNER = ["an approval from one of the config's owners"]


def zones(n: int) -> dict:
    return {"companies": [{"company_id": f"company-{n}", "timezone": "UTC"}]}


def on_the_schema(timezones, namespace: Namespace, keys, owners) -> list[Config]:
    """Configs of `namespace` on the timezones schema, each with a live version 1 in every
    environment (as a config is created)."""
    now = timezone.now()
    configs = []
    for n, key in enumerate(keys):
        config = Config.objects.create(
            namespace=namespace, key=key, name=key, schema=timezones.schema
        )
        config.owners.set(owners)
        for environment in environments.every():
            Version.objects.create(
                config=config,
                environment_id=environment.id,
                number=1,
                value=zones(n),
                effective_at=now,
                published_at=now,
                published_by=owners[0],
            )
        configs.append(config)
    return configs


def spread(timezones, bob, grace, count: int) -> dict[str, list[Config]]:
    """`count` configs on the schema: half in data-pipelines (company-timezones among them),
    half in sales-ops, whose policy asks for an owner's approval. bob owns every sales-ops
    config but the first, which only grace owns."""
    pipelines = timezones.namespace
    sales = Namespace.objects.get(slug="sales-ops")
    sales.owner_approval_required = True
    sales.save()
    in_pipelines = count // 2
    in_sales = count - in_pipelines
    return {
        "data-pipelines": [
            timezones,
            *on_the_schema(
                timezones, pipelines, [f"zones-{n}" for n in range(in_pipelines - 1)], [bob]
            ),
        ],
        "sales-ops": [
            *on_the_schema(timezones, sales, ["graces-zones"], [grace]),
            *on_the_schema(timezones, sales, [f"zones-{n}" for n in range(in_sales - 1)], [bob]),
        ],
    }


def reviewer_of_both(username: str):
    person = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-12345")
    for slug in ("data-pipelines", "sales-ops"):
        Membership.objects.create(
            user=person, namespace=Namespace.objects.get(slug=slug), role=Role.REVIEWER
        )
    return person


@pytest.fixture
def grace(demo):
    return reviewer_of_both("grace")


def open_change(timezones, carol):
    return review_services.schema_change_open(
        schema=timezones.schema,
        author=carol,
        body=owner_team(timezones.schema.body),
        base_version=1,
        title="Every company has an owner team",
    )


def gate_of(change) -> tuple[list[str], list[str]]:
    """Who counts and what is missing, as the service sees it."""
    change.refresh_from_db()
    gate = gate_for(change)
    return [u.username for u in gate.approvers], gate.missing


def approve(change, person):
    review_services.change_request_approve(change_request=change, reviewer=person)


@pytest.mark.parametrize("count", [3, 30])
def test_approvals_count_from_reviewers_of_both_namespaces_and_each_config_needs_an_owner(
    client, timezones, carol, bob, grace, count
):
    configs = spread(timezones, bob, grace, count)
    change = open_change(timezones, carol)
    assert items(change).count() == count == sum(len(c) for c in configs.values())
    assert gate_of(change) == ([], MISSING_BOTH)

    # A reviewer of both who then loses the role in one no longer counts.
    erin = reviewer_of_both("erin")
    approve(change, erin)
    assert gate_of(change) == (["erin"], MISSING_OWNER)
    Membership.objects.filter(user=erin, namespace__slug="sales-ops").update(role=Role.EDITOR)
    assert gate_of(change) == ([], MISSING_BOTH)

    # A reviewer of data-pipelines alone may not review it at all.
    frank = get_user_model().objects.create_user("frank", "frank@example.com", "pw-12345")
    Membership.objects.create(user=frank, namespace=timezones.namespace, role=Role.REVIEWER)
    with pytest.raises(PermissionDenied, match="data-pipelines, sales-ops"):
        approve(change, frank)

    # bob owns every sales-ops config but grace's: the one approval is there, not every owner.
    approve(change, bob)
    assert gate_of(change) == (["bob"], MISSING_OWNER)
    approve(change, grace)
    assert gate_of(change) == (["bob", "grace"], [])
    change.refresh_from_db()
    assert change.status == "approved"

    # The page and the API show the same gate.
    client.force_login(bob)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "bob, grace" in page and "still needs" not in page
    read = client_for(make_token(bob, "data-pipelines", "sales-ops")[1]).get(
        f"/api/v1/change-requests/{change.pk}/"
    )
    assert (read.json()["approvals"], read.json()["missing"]) == (["bob", "grace"], [])
    kinds = [c["kind"] for c in read.json()["changes"]]
    # a config's value in each environment is a change of its own
    assert kinds == ["schema"] + ["config"] * count * len(environments.every())


@pytest.mark.parametrize("count", [3, 30])
def test_a_superuser_counts_anywhere_but_owners_are_still_needed(
    client, timezones, carol, bob, grace, count
):
    spread(timezones, bob, grace, count)
    change = open_change(timezones, carol)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345")

    approve(change, root)

    assert gate_of(change) == (["root"], MISSING_OWNER)
    client.force_login(bob)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "root; still needs an approval from one of the config&#x27;s owners" in page


@pytest.mark.parametrize("count", [3, 30])
def test_the_strictest_of_the_configs_own_policies_applies(timezones, carol, bob, grace, count):
    configs = spread(timezones, bob, grace, count)
    # No sales-ops config asks for its owner after all, one asks for two approvals, and one
    # data-pipelines config (a namespace that does not) asks for its owner, bob.
    Config.objects.filter(namespace__slug="sales-ops").update(owner_approval_required=False)
    Config.objects.filter(pk=configs["sales-ops"][-1].pk).update(required_approvals=2)
    Config.objects.filter(pk=configs["data-pipelines"][-1].pk).update(owner_approval_required=True)
    change = open_change(timezones, carol)

    assert gate_of(change) == ([], ["2 more approvals", MISSING_OWNER[0]])
    approve(change, grace)
    assert gate_of(change) == (["grace"], ["1 more approval", MISSING_OWNER[0]])
    approve(change, bob)
    assert gate_of(change) == (["grace", "bob"], [])
    review_services.change_request_publish(change_request=change, actor=bob)
    published = Version.objects.filter(config__in=items(change).values("config"), number=2)
    assert in_default_environment(published).count() == count


def test_a_config_that_needs_its_owner_and_has_none_keeps_the_gate_shut(
    timezones, carol, bob, grace
):
    configs = spread(timezones, bob, grace, 3)
    configs["sales-ops"][0].owners.clear()
    change = open_change(timezones, carol)

    approve(change, bob)
    approve(change, grace)

    assert gate_of(change) == (["bob", "grace"], MISSING_OWNER)


def test_a_change_that_rejects_no_value_follows_every_config_using_the_schema(
    timezones, carol, bob, grace
):
    configs = spread(timezones, bob, grace, 3)
    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["companies"]["items"]["properties"]["note"] = {"type": "string"}
    change = review_services.schema_change_open(
        schema=timezones.schema, author=carol, body=body, base_version=1, title="A note"
    )
    assert items(change).count() == 0

    assert gate_of(change) == ([], MISSING_BOTH)
    approve(change, bob)
    assert gate_of(change) == (["bob"], MISSING_OWNER)
    approve(change, grace)
    assert gate_of(change) == (["bob", "grace"], [])
    everyone = [config for namespace in configs.values() for config in namespace]
    versions_before = set(Version.objects.filter(config__in=everyone).values_list("pk", flat=True))
    review_services.change_request_publish(change_request=change, actor=bob)

    assert timezones.schema.versions.count() == 2
    # No value changed: no config got a new version in any environment.
    assert set(Version.objects.filter(config__in=everyone).values_list("pk", flat=True)) == (
        versions_before
    )
