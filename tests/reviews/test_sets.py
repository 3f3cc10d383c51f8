"""One change request, a set of changes: several configs reviewed and published as one, or not
at all, through the services the console and the API call."""

import copy
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from common.errors import Conflict, InvalidValue
from configs import services as config_services
from configs.models import Config, Role
from configs.selectors import newest_version as newest
from reviews import services
from reviews.gate import gate_for
from reviews.models import Change, ChangeRequest
from reviews.services import Proposed
from tests.values import with_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouses(demo):
    return Config.objects.get(namespace__slug="data-pipelines", key="warehouse-connections")


@pytest.fixture
def legacy(demo):
    return Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")


def with_warehouse(config, company_id):
    value = copy.deepcopy(newest(config).value)
    value["connections"].append(
        {
            "company_id": company_id,
            "warehouse": "snowflake",
            "database": "ANALYTICS",
            "schema": "EVENTS",
            "credential_ref": f"vault://warehouses/{company_id}",
        }
    )
    return value


def onboarding(timezones, warehouses, company="hooli"):
    """The demo's onboarding: a company's timezone and its warehouse, as one set."""
    return [
        Proposed(timezones, with_company(timezones, company), newest(timezones).number),
        Proposed(warehouses, with_warehouse(warehouses, company), newest(warehouses).number),
    ]


def open_set(author, changes, title="Onboard hooli", **kwargs):
    return services.change_request_open(author=author, changes=changes, title=title, **kwargs)


def reviewer_of_one_namespace(slug, username="frank"):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-12345678")
    namespace = Config.objects.filter(namespace__slug=slug).first().namespace
    config_services.membership_set(namespace=namespace, user=user, role=Role.REVIEWER)
    return user


def test_one_change_request_publishes_two_configs_at_once(timezones, warehouses, alice, bob):
    cr = open_set(alice, onboarding(timezones, warehouses))
    services.change_request_approve(change_request=cr, reviewer=bob)

    services.change_request_publish(change_request=cr, actor=bob)

    cr.refresh_from_db()
    assert cr.status == ChangeRequest.Status.PUBLISHED
    assert newest(timezones).number == 2 and newest(warehouses).number == 2
    assert "hooli" in str(newest(timezones).value) and "hooli" in str(newest(warehouses).value)
    assert [c.published_version.number for c in cr.change_list] == [2, 2]
    published = AuditEvent.objects.filter(action="change_request.published", target_id=str(cr.pk))
    assert sorted(published.values_list("config", flat=True)) == [
        "company-timezones",
        "warehouse-connections",
    ]


def test_a_set_whose_base_moved_is_conflicted_and_changes_nothing(
    timezones, warehouses, alice, bob
):
    cr = open_set(alice, onboarding(timezones, warehouses))
    services.change_request_approve(change_request=cr, reviewer=bob)
    other = services.change_request_open(
        config=warehouses,
        author=alice,
        value=with_warehouse(warehouses, "initech"),
        title="Initech's warehouse",
        base_version=1,
    )
    services.change_request_approve(change_request=other, reviewer=bob)
    services.change_request_publish(change_request=other, actor=bob)

    with pytest.raises(Conflict, match="warehouse-connections"):
        services.change_request_publish(change_request=cr, actor=bob)

    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeRequest.Status.CONFLICTED
    assert newest(timezones).number == 1  # the config whose base did not move is unchanged too
    assert newest(warehouses).number == 2


def publish_elsewhere(config, value, author, reviewer):
    """Another change request publishes `value` for `config` first."""
    other = services.change_request_open(
        config=config,
        author=author,
        value=value,
        title="Published first",
        base_version=newest(config).number,
    )
    if gate_for(other).required:
        services.change_request_approve(change_request=other, reviewer=reviewer)
    services.change_request_publish(change_request=other, actor=reviewer)


def test_rebase_refuses_to_undo_what_was_published_in_the_same_places(
    timezones, warehouses, alice, bob, carol
):
    cr = open_set(alice, onboarding(timezones, warehouses))
    publish_elsewhere(timezones, with_company(timezones, "initech"), bob, carol)
    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeRequest.Status.CONFLICTED

    # Both added a company: the set's list would drop initech, so it is not carried over.
    with pytest.raises(Conflict, match=r"company-timezones \(/companies\)"):
        services.change_request_rebase(change_request=cr, actor=alice)

    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeRequest.Status.CONFLICTED
    both = with_company(timezones, "hooli")  # the newest (with initech) and hooli
    services.change_request_rebase(change_request=cr, actor=alice, values={timezones.pk: both})
    cr = ChangeRequest.objects.get(pk=cr.pk)
    assert cr.status == ChangeRequest.Status.IN_REVIEW
    assert {c.config_id: c.base_version_number for c in cr.change_list} == {
        timezones.pk: 2,
        warehouses.pk: 1,
    }
    assert [c["company_id"] for c in cr.change_list[0].value["companies"]][-2:] == [
        "initech",
        "hooli",
    ]


def test_rebase_carries_each_change_over_where_it_does_not_clash_and_dismisses_approvals(
    timezones, legacy, alice, bob, carol
):
    cr = open_set(
        alice,
        [
            Proposed(timezones, with_company(timezones, "hooli"), 1),
            Proposed(legacy, {**newest(legacy).value, "ours": 1}, newest(legacy).number),
        ],
    )
    services.change_request_approve(change_request=cr, reviewer=bob)
    publish_elsewhere(legacy, {**newest(legacy).value, "theirs": 2}, carol, carol)

    services.change_request_rebase(change_request=cr, actor=alice)

    cr = ChangeRequest.objects.get(pk=cr.pk)
    assert cr.status == ChangeRequest.Status.IN_REVIEW
    legacy_change = next(c for c in cr.change_list if c.config_id == legacy.pk)
    assert legacy_change.base_version_number == newest(legacy).number
    assert legacy_change.value == {**newest(legacy).value, "ours": 1}  # theirs is kept
    assert gate_for(cr).approvers == []


def test_what_each_edit_proposed_is_kept_in_the_history(timezones, warehouses, alice):
    cr = open_set(alice, onboarding(timezones, warehouses))
    services.change_request_edit(
        change_request=cr, actor=alice, changes=onboarding(timezones, warehouses, "initech")
    )

    proposed = Change.history.filter(change_request_id=cr.pk, config=timezones).order_by(
        "history_date"
    )
    assert [row.value["companies"][-1]["company_id"] for row in proposed] == ["hooli", "initech"]
    assert {row.history_user.username for row in proposed} == {"alice"}


def test_an_invalid_value_in_a_set_names_its_config_and_path_and_nothing_is_stored(
    timezones, warehouses, alice
):
    changes = onboarding(timezones, warehouses)
    changes[1].value["connections"][-1]["warehouse"] = "excel"

    with pytest.raises(InvalidValue) as refused:
        open_set(alice, changes)

    [error] = refused.value.errors
    assert error["change"] == "data-pipelines/warehouse-connections"
    assert error["path"] == "/connections/2/warehouse"
    assert not ChangeRequest.objects.exists() and not Change.objects.exists()


def test_a_config_changed_twice_in_one_set_is_refused(timezones, alice):
    changes = [
        Proposed(timezones, with_company(timezones, "hooli"), 1),
        Proposed(timezones, with_company(timezones, "initech"), 1),
    ]
    with pytest.raises(ValidationError, match="each config once"):
        open_set(alice, changes)


def test_a_set_spanning_namespaces_follows_the_strictest_policy(timezones, legacy, alice, carol):
    legacy_value = {**newest(legacy).value, "note": "onboarding"}
    cr = open_set(
        alice,
        [
            Proposed(timezones, with_company(timezones, "hooli"), 1),
            Proposed(legacy, legacy_value, newest(legacy).number),
        ],
    )
    # sales-ops needs no approval, data-pipelines one: the set needs one.
    assert gate_for(cr).required == 1
    assert not gate_for(cr).satisfied
    services.change_request_approve(change_request=cr, reviewer=carol)
    assert gate_for(ChangeRequest.objects.get(pk=cr.pk)).satisfied


def test_only_a_reviewer_of_every_namespace_in_the_set_may_approve_it(timezones, legacy, alice):
    frank = reviewer_of_one_namespace("data-pipelines")
    cr = open_set(
        alice,
        [
            Proposed(timezones, with_company(timezones, "hooli"), 1),
            Proposed(legacy, {**newest(legacy).value, "note": "x"}, newest(legacy).number),
        ],
    )

    with pytest.raises(PermissionDenied, match="sales-ops"):
        services.change_request_approve(change_request=cr, reviewer=frank)


def test_a_reviewer_who_lost_the_role_in_one_namespace_no_longer_counts(
    timezones, legacy, alice, bob
):
    cr = open_set(
        alice,
        [
            Proposed(timezones, with_company(timezones, "hooli"), 1),
            Proposed(legacy, {**newest(legacy).value, "note": "x"}, newest(legacy).number),
        ],
    )
    services.change_request_approve(change_request=cr, reviewer=bob)
    assert gate_for(ChangeRequest.objects.get(pk=cr.pk)).satisfied

    config_services.membership_set(namespace=legacy.namespace, user=bob, role=Role.VIEWER)

    assert not gate_for(ChangeRequest.objects.get(pk=cr.pk)).satisfied


def test_adding_a_config_to_a_set_dismisses_approvals_and_is_published_with_it(
    timezones, warehouses, alice, bob
):
    cr = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Onboard hooli",
        base_version=1,
    )
    services.change_request_approve(change_request=cr, reviewer=bob)
    kept = Proposed(timezones, cr.value, 1)

    services.change_request_edit(
        change_request=cr,
        actor=alice,
        changes=[kept, Proposed(warehouses, with_warehouse(warehouses, "hooli"), 1)],
    )

    cr = ChangeRequest.objects.get(pk=cr.pk)
    assert [c.config.key for c in cr.change_list] == ["company-timezones", "warehouse-connections"]
    assert gate_for(cr).approvers == []
    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)
    assert newest(warehouses).number == 2


def test_a_config_added_to_a_set_must_be_proposed_on_its_newest_version(
    timezones, warehouses, alice
):
    cr = open_set(alice, onboarding(timezones, warehouses)[:1])
    with pytest.raises(Conflict, match="warehouse-connections is at version 1, not 7"):
        services.change_request_edit(
            change_request=cr,
            actor=alice,
            changes=[
                Proposed(timezones, cr.value, 1),
                Proposed(warehouses, with_warehouse(warehouses, "hooli"), 7),
            ],
        )


def test_a_set_change_equal_to_its_base_is_refused_naming_the_config(timezones, warehouses, alice):
    changes = onboarding(timezones, warehouses)
    changes[1] = Proposed(warehouses, newest(warehouses).value, 1)
    with pytest.raises(ValidationError, match="warehouse-connections is the same as version 1"):
        open_set(alice, changes)


def test_publishing_one_config_marks_the_sets_that_change_it_conflicted(
    timezones, warehouses, alice, bob, carol
):
    cr = open_set(alice, onboarding(timezones, warehouses), draft=True)
    single = services.change_request_open(
        config=warehouses,
        author=carol,
        value=with_warehouse(warehouses, "initech"),
        title="Initech",
        base_version=1,
    )
    services.change_request_approve(change_request=single, reviewer=bob)
    services.change_request_publish(change_request=single, actor=bob)

    # A draft stays its author's: it becomes a conflicted draft.
    assert ChangeRequest.objects.get(pk=cr.pk).status == ChangeRequest.Status.CONFLICTED_DRAFT


def test_the_edit_form_adds_a_change_to_one_of_my_open_change_requests(
    client, timezones, warehouses, alice
):
    cr = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Onboard hooli",
        base_version=1,
        draft=True,
    )
    client.force_login(alice)
    url = "/configs/data-pipelines/warehouse-connections/edit/"
    assert f"Add to my #{cr.pk} Onboard hooli" in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "editor": "raw",
            "raw": json.dumps(with_warehouse(warehouses, "hooli")),
            "title": "Hooli's warehouse",
            "base_version": 1,
            "confirmed": "1",
            "add_to": str(cr.pk),
        },
    )

    assert response.status_code == 302 and response.url == cr.get_absolute_url()
    cr = ChangeRequest.objects.get(pk=cr.pk)
    assert [c.config.key for c in cr.change_list] == ["company-timezones", "warehouse-connections"]
    assert cr.status == ChangeRequest.Status.DRAFT
    assert ChangeRequest.objects.count() == 1
    page = client.get(cr.get_absolute_url()).content.decode()
    assert "2 configs, reviewed and published together" in page


def test_someone_elses_change_request_cannot_be_joined(client, timezones, warehouses, alice, carol):
    cr = services.change_request_open(
        config=timezones,
        author=carol,
        value=with_company(timezones, "hooli"),
        title="Onboard hooli",
        base_version=1,
    )
    with pytest.raises(PermissionDenied):
        services.change_request_add(
            change_request=cr,
            actor=alice,
            config=warehouses,
            value=with_warehouse(warehouses, "hooli"),
            base_version=1,
        )
    assert len(ChangeRequest.objects.get(pk=cr.pk).change_list) == 1


# --- who sees a set that spans namespaces --------------------------------------------------------


@pytest.fixture
def across(timezones, legacy, alice):
    return open_set(
        alice,
        [
            Proposed(timezones, with_company(timezones, "hooli"), 1),
            Proposed(legacy, {**newest(legacy).value, "plan": "sales-only"}, newest(legacy).number),
        ],
        title="Onboard hooli everywhere",
    )


@pytest.fixture
def pipelines_only(demo):
    """A person in data-pipelines only: admin there, nothing in sales-ops."""
    user = get_user_model().objects.create_user("grace", "g@example.com", "pw-12345678")
    namespace = Config.objects.filter(namespace__slug="data-pipelines").first().namespace
    config_services.membership_set(namespace=namespace, user=user, role=Role.ADMIN)
    return user


def test_a_set_touching_a_namespace_one_cannot_see_is_hidden_everywhere(
    client, across, pipelines_only, timezones
):
    from tests.api.conftest import client_for, make_token

    client.force_login(pipelines_only)
    assert client.get(across.get_absolute_url()).status_code == 404
    assert (
        "Onboard hooli everywhere" not in client.get(timezones.get_absolute_url()).content.decode()
    )
    _token, secret = make_token(pipelines_only, "data-pipelines")
    preview = client_for(secret).get(
        "/api/v1/configs/data-pipelines/company-timezones/", {"change_request": across.pk}
    )
    assert preview.status_code == 404
    assert client_for(secret).get(f"/api/v1/change-requests/{across.pk}/").status_code == 404


def test_each_namespaces_audit_events_hold_only_its_own_configs(across, pipelines_only):
    events = AuditEvent.objects.filter(action="change_request.opened", target_id=str(across.pk))
    assert sorted(events.values_list("namespace", "config")) == [
        ("data-pipelines", "company-timezones"),
        ("sales-ops", "legacy-fields"),
    ]
    pipelines = events.get(namespace="data-pipelines")
    assert "sales-only" not in json.dumps(pipelines.details)
    assert pipelines.details["changes"] == ["data-pipelines/company-timezones"]
