"""Audit events reach the people they concern: schema and token events the admins of every
namespace involved; refusals in the console are audited like refusals through the API."""

import copy

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from audit.selectors import filtered_events
from configs.models import Namespace, Role
from configs.selectors import newest_version as newest
from configs.services import config_create, membership_set, schema_update
from reviews import services
from tests.api.conftest import make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db


def person(username, namespace, role):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-12345678")
    membership_set(namespace=namespace, user=user, role=role)
    return user


@pytest.fixture
def sales_ops(demo):
    return Namespace.objects.get(slug="sales-ops")


@pytest.fixture
def olga(sales_ops):
    """An admin of sales-ops alone."""
    return person("olga", sales_ops, Role.ADMIN)


@pytest.fixture
def victor(sales_ops):
    """A viewer of sales-ops alone."""
    return person("victor", sales_ops, Role.VIEWER)


def actions_seen_by(user):
    return set(filtered_events(user=user).values_list("action", flat=True))


def test_a_schema_change_reaches_the_admins_of_every_namespace_using_it(
    timezones, sales_ops, carol, olga, victor, client
):
    # sales-ops gets a config of its own on the company-timezones schema.
    config_create(
        namespace=sales_ops,
        key="regional-timezones",
        name="Regional timezones",
        value=newest(timezones).value,
        schema=timezones.schema,
        actor=carol,
    )
    body = copy.deepcopy(timezones.schema.body)
    body["description"] = "Where each company reports from."

    schema_update(schema=timezones.schema, body=body, actor=carol, reason="Say what it is")

    assert "schema.changed" in actions_seen_by(olga)
    assert "schema.changed" not in actions_seen_by(victor)
    client.force_login(olga)
    assert "changed schema" in client.get("/audit/").content.decode()


def test_a_token_event_reaches_the_admins_of_every_namespace_it_reaches(
    timezones, alice, olga, victor
):
    make_token(alice, "data-pipelines", "sales-ops")

    assert "token.created" in actions_seen_by(olga)
    assert "token.created" not in actions_seen_by(victor)


def test_a_refusal_in_the_console_is_audited_like_one_through_the_api(
    client, timezones, alice, bob, carol
):
    cr = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )
    client.force_login(bob)

    page = client.post(f"/changes/{cr.pk}/withdraw/", follow=True).content.decode()

    assert "Only the author can withdraw" in page
    denied = AuditEvent.objects.get(action="access.denied")
    assert denied.actor == bob
    assert denied.namespace == "data-pipelines"
    assert "access.denied" in actions_seen_by(carol)


def _regional_timezones(sales_ops, timezones, carol):
    """A sales-ops config on the company-timezones schema."""
    return config_create(
        namespace=sales_ops,
        key="regional-timezones",
        name="Regional timezones",
        value=newest(timezones).value,
        schema=timezones.schema,
        actor=carol,
    )


def test_a_schema_change_request_reaches_the_members_of_each_namespace_whose_configs_change(
    timezones, sales_ops, carol, bob, olga, victor
):
    from tests.api.test_schema_change_addresses import open_change

    _regional_timezones(sales_ops, timezones, carol)

    change = open_change(timezones, carol)

    # As for a config change request: one event per namespace, naming only its configs.
    opened = AuditEvent.objects.filter(action="change_request.opened", target_id=str(change.pk))
    assert sorted((e.namespace, e.details["changes"]) for e in opened) == [
        ("data-pipelines", ["data-pipelines/company-timezones"]),
        ("sales-ops", ["sales-ops/regional-timezones"]),
    ]
    assert {e.details["schema"] for e in opened} == {"company-timezones"}
    for someone in (olga, victor, bob):
        assert "change_request.opened" in actions_seen_by(someone)


def test_a_schema_change_request_that_changes_no_value_reaches_the_namespaces_using_it(
    timezones, sales_ops, carol, olga, victor
):
    """Their reviewers review it (every config using the schema is touched), so they hear of
    it as of any change request they review."""
    from tests.api.test_schema_change_addresses import open_change

    _regional_timezones(sales_ops, timezones, carol)
    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["note"] = {"type": "string", "title": "Note"}

    open_change(timezones, carol, body=body)

    assert "change_request.opened" in actions_seen_by(olga)
    assert "change_request.opened" in actions_seen_by(victor)
