"""The admin services: namespace settings, members, config details. Each checks the admin role,
changes only what differs and records one audit event."""

import copy
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.errors import SchemaInUse
from configs import access
from configs.models import Config, Membership, Namespace, Role
from configs.selectors import versions_of
from configs.services import (
    config_create,
    config_update,
    membership_remove,
    membership_set,
    namespace_create,
    namespace_update,
    schema_create,
)
from reviews import services as review_services

AT_MOST_TWO_METRICS = {
    "type": "object",
    "properties": {"metrics": {"type": "array", "maxItems": 2}},
}
AT_MOST_ONE_METRIC = {
    "type": "object",
    "properties": {"metrics": {"type": "array", "maxItems": 1}},
}


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def sales_ops(demo):
    return Namespace.objects.get(slug="sales-ops")


@pytest.fixture
def legacy(demo):
    return Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")


# --- namespace_update -----------------------------------------------------------------------


def test_an_admin_changes_the_review_policy_and_one_event_holds_before_and_after(carol, sales_ops):
    namespace_update(
        namespace=sales_ops,
        actor=carol,
        reason="Two pairs of eyes",
        required_approvals=2,
        owner_approval_required=True,
        name="Sales ops",  # unchanged: not in the event
    )

    sales_ops.refresh_from_db()
    assert (sales_ops.required_approvals, sales_ops.owner_approval_required) == (2, True)
    [event] = events("namespace.policy_changed")
    assert (event.actor, event.namespace, event.reason) == (carol, "sales-ops", "Two pairs of eyes")
    assert event.details == {
        "changes": {
            "required_approvals": {"before": 0, "after": 2},
            "owner_approval_required": {"before": False, "after": True},
        }
    }
    assert sales_ops.history.first().history_user == carol


def test_a_namespace_update_that_changes_nothing_records_nothing(carol, sales_ops):
    namespace_update(namespace=sales_ops, actor=carol, required_approvals=0, name="Sales ops")
    assert events("namespace.policy_changed") == []


def test_a_superuser_may_change_any_namespace(django_user_model, sales_ops):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root-pass")
    namespace_update(namespace=sales_ops, actor=root, description="Revenue metrics")
    assert Namespace.objects.get(slug="sales-ops").description == "Revenue metrics"


@pytest.mark.parametrize("persona", ["alice", "bob", "dave", "erin"])
def test_only_admins_change_a_namespace(request, persona, sales_ops):
    with pytest.raises(PermissionDenied, match="admin role in sales-ops"):
        namespace_update(
            namespace=sales_ops, actor=request.getfixturevalue(persona), required_approvals=0
        )
    assert events("namespace.policy_changed") == []


def test_a_namespace_update_refuses_unknown_fields_and_bad_values(carol, sales_ops):
    with pytest.raises(TypeError, match="slug"):
        namespace_update(namespace=sales_ops, actor=carol, slug="sales")
    with pytest.raises(ValidationError):
        namespace_update(namespace=sales_ops, actor=carol, required_approvals=-1)
    assert Namespace.objects.get(slug="sales-ops").required_approvals == 0
    assert events("namespace.policy_changed") == []


# --- membership_set / membership_remove -----------------------------------------------------


def test_an_admin_removes_a_member_and_the_event_says_which_role_they_had(carol, dave, sales_ops):
    assert access.has_role(dave, sales_ops, Role.VIEWER)

    membership_remove(namespace=sales_ops, user=dave, actor=carol)

    assert not Membership.objects.filter(namespace=sales_ops, user=dave).exists()
    assert access.role_in(dave, sales_ops) is None  # the cached roles were forgotten
    [event] = events("membership.changed")[-1:]
    assert (event.actor, event.namespace, event.target_type) == (
        carol,
        "sales-ops",
        "configs.membership",
    )
    assert event.target_id
    assert event.details == {"user": "dave", "role": None, "previous_role": "viewer"}


def test_removing_someone_who_is_not_a_member_records_nothing(carol, erin, sales_ops):
    before = AuditEvent.objects.count()
    membership_remove(namespace=sales_ops, user=erin, actor=carol)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("persona", ["alice", "bob", "dave"])
def test_only_admins_change_members(request, persona, erin, sales_ops):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied, match="admin role in sales-ops"):
        membership_set(namespace=sales_ops, user=erin, role=Role.ADMIN, actor=actor)
    with pytest.raises(PermissionDenied, match="admin role in sales-ops"):
        membership_remove(namespace=sales_ops, user=request.getfixturevalue("carol"), actor=actor)
    assert not Membership.objects.filter(user=erin).exists()
    assert Membership.objects.filter(namespace=sales_ops, user__username="carol").exists()


def test_the_system_sets_members_without_an_actor(erin, sales_ops):
    membership_set(namespace=sales_ops, user=erin, role=Role.VIEWER)
    assert Membership.objects.get(namespace=sales_ops, user=erin).role == Role.VIEWER


def test_whoever_sets_up_a_new_namespace_may_give_it_its_first_admin(carol, alice, erin):
    namespace = namespace_create(slug="ops", name="Ops", actor=carol)

    with pytest.raises(PermissionDenied):  # an admin first, then the others
        membership_set(namespace=namespace, user=alice, role=Role.EDITOR, actor=carol)
    membership_set(namespace=namespace, user=carol, role=Role.ADMIN, actor=carol)
    membership_set(namespace=namespace, user=alice, role=Role.EDITOR, actor=carol)

    with pytest.raises(PermissionDenied):  # only the first
        membership_set(namespace=namespace, user=erin, role=Role.ADMIN, actor=erin)


# --- config_update --------------------------------------------------------------------------


def test_an_admin_changes_owners_and_details_in_one_event(carol, bob, metrics):
    config_update(
        config=metrics,
        actor=carol,
        reason="Bob helps",
        owners=[bob, carol],
        description="Metrics customers define",
        required_approvals=1,
    )

    metrics.refresh_from_db()
    assert set(metrics.owners.values_list("username", flat=True)) == {"bob", "carol"}
    assert metrics.effective_required_approvals == 1
    [event] = events("config.changed")
    assert (event.actor, event.namespace, event.config, event.reason) == (
        carol,
        "sales-ops",
        "custom-metrics",
        "Bob helps",
    )
    changes = event.details["changes"]
    assert changes["owners"] == {"before": ["carol"], "after": ["bob", "carol"]}
    assert changes["required_approvals"] == {"before": None, "after": 1}
    assert changes["description"]["after"] == "Metrics customers define"


def test_a_config_update_that_changes_nothing_records_nothing(carol, metrics):
    config_update(config=metrics, actor=carol, owners=[carol], name=metrics.name)
    assert events("config.changed") == []


@pytest.mark.parametrize("persona", ["alice", "bob", "dave", "erin"])
def test_only_admins_change_a_config(request, persona, metrics):
    with pytest.raises(PermissionDenied, match="admin role in sales-ops"):
        config_update(config=metrics, actor=request.getfixturevalue(persona), owners=[])
    assert metrics.owners.exists()
    assert events("config.changed") == []


def test_a_config_update_refuses_unknown_fields(carol, metrics):
    with pytest.raises(TypeError, match="key"):
        config_update(config=metrics, actor=carol, key="metrics")


def test_a_schema_the_live_value_fails_is_refused_naming_the_version_and_path(carol, legacy):
    metrics_schema = Config.objects.get(key="custom-metrics").schema

    with pytest.raises(SchemaInUse) as refused:
        config_update(config=legacy, actor=carol, schema=metrics_schema)

    # its version 1 in each environment, named
    assert list(refused.value.problems) == [
        "sales-ops/legacy-fields@development v1",
        "sales-ops/legacy-fields@staging v1",
        "sales-ops/legacy-fields v1",
    ]
    errors = refused.value.problems["sales-ops/legacy-fields v1"]
    assert errors and all("path" in error and error["message"] for error in errors)
    legacy.refresh_from_db()
    assert legacy.schema is None
    assert events("config.changed") == []


def test_a_schema_a_scheduled_value_fails_is_refused(carol, alice, metrics):
    value = copy.deepcopy(versions_of(metrics).get(number=1).value)
    value["metrics"].append({"name": "signups", "kind": "count", "event": "signup"})
    change_request = review_services.change_request_open(
        config=metrics, author=alice, value=value, title="Add signups", base_version=1
    )
    review_services.change_request_publish(
        change_request=change_request, actor=alice, effective_at=timezone.now() + timedelta(days=1)
    )
    schema = schema_create(name="at-most-two", body=AT_MOST_TWO_METRICS, actor=carol)

    with pytest.raises(SchemaInUse) as refused:
        config_update(config=metrics, actor=carol, schema=schema)

    assert list(refused.value.problems) == ["sales-ops/custom-metrics v2"]
    assert refused.value.problems["sales-ops/custom-metrics v2"][0]["path"] == "/metrics"


def test_a_schema_every_value_in_force_satisfies_is_accepted(carol, metrics):
    schema = schema_create(name="at-most-two", body=AT_MOST_TWO_METRICS, actor=carol)
    old = metrics.schema.name

    config_update(config=metrics, actor=carol, schema=schema)

    assert Config.objects.get(pk=metrics.pk).schema == schema
    [event] = events("config.changed")
    assert event.details == {"changes": {"schema": {"before": old, "after": "at-most-two"}}}


def test_a_live_value_failing_the_new_schema_is_refused_even_with_other_changes(carol, metrics):
    schema = schema_create(name="at-most-one", body=AT_MOST_ONE_METRIC, actor=carol)

    with pytest.raises(SchemaInUse, match="sales-ops/custom-metrics v1"):
        config_update(config=metrics, actor=carol, schema=schema, name="Renamed")

    assert Config.objects.get(pk=metrics.pk).name != "Renamed"


@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_only_admins_create_configs_their_first_value_is_not_reviewed(demo, who):
    person = get_user_model().objects.get(username=who)
    namespace = Namespace.objects.get(slug="sales-ops")

    with pytest.raises(PermissionDenied, match="admin role in sales-ops"):
        config_create(namespace=namespace, key="new", name="New", value={}, actor=person)
    assert not Config.objects.filter(key="new").exists()


def test_only_namespace_admins_add_schemas(alice, carol):
    with pytest.raises(PermissionDenied):
        schema_create(name="mine", body={"type": "object"}, actor=alice)

    assert schema_create(name="ours", body={"type": "object"}, actor=carol).name == "ours"
