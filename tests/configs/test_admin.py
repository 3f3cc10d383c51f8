"""/admin/ saves through the services: audited, with the rules, refusals shown on the form."""

import json

import pytest
from django.forms import NullBooleanField

from audit.models import AuditEvent
from configs.models import Config, Membership, Namespace, Role, Schema
from configs.selectors import versions_of
from reviews.models import ChangeRequest

METRICS_SCHEMA = "custom-metrics"


@pytest.fixture
def root(demo, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-pass")


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def untouched(response) -> dict:
    """The page's form (and its inlines) as the browser would send it back unchanged."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is False and isinstance(form.fields[name], NullBooleanField):
                data[form.add_prefix(name)] = "false"  # a yes/no/unknown choice, not a checkbox
                continue
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def change_url(obj):
    return f"/admin/configs/{obj._meta.model_name}/{obj.pk}/change/"


def errors_of(response) -> str:
    form = response.context["adminform"].form
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


# --- namespaces and members -----------------------------------------------------------------


def test_changing_required_approvals_writes_one_policy_event(admin_client, root):
    namespace = Namespace.objects.get(slug="sales-ops")
    data = untouched(admin_client.get(change_url(namespace)))
    data.update(required_approvals="2", reason="Two pairs of eyes")

    response = admin_client.post(change_url(namespace), data)

    assert response.status_code == 302
    assert Namespace.objects.get(slug="sales-ops").required_approvals == 2
    [event] = events("namespace.policy_changed")
    assert (event.actor, event.reason) == (root, "Two pairs of eyes")
    assert event.details == {"changes": {"required_approvals": {"before": 0, "after": 2}}}
    assert events("membership.changed")[-1].actor is None  # the seed's, not this save's


def test_saving_a_namespace_unchanged_records_nothing(admin_client):
    namespace = Namespace.objects.get(slug="sales-ops")
    before = AuditEvent.objects.count()

    response = admin_client.post(
        change_url(namespace), untouched(admin_client.get(change_url(namespace)))
    )

    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_adding_changing_and_removing_members_in_the_inline_writes_membership_events(
    admin_client, root, erin
):
    namespace = Namespace.objects.get(slug="sales-ops")
    response = admin_client.get(change_url(namespace))
    data = untouched(response)
    rows = {
        form.instance.user.username: form
        for form in response.context["inline_admin_formsets"][0].formset.forms
    }
    data[rows["dave"].add_prefix("role")] = Role.EDITOR
    data[rows["alice"].add_prefix("DELETE")] = "on"
    new = len(rows)
    data.update(
        {
            "memberships-TOTAL_FORMS": str(new + 1),
            f"memberships-{new}-user": str(erin.pk),
            f"memberships-{new}-role": Role.VIEWER,
            f"memberships-{new}-namespace": str(namespace.pk),
        }
    )
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    response = admin_client.post(change_url(namespace), data)

    assert response.status_code == 302, errors_of(response)
    roles = dict(
        Membership.objects.filter(namespace=namespace).values_list("user__username", "role")
    )
    assert roles == {"bob": "reviewer", "carol": "admin", "dave": "editor", "erin": "viewer"}
    changed = AuditEvent.objects.filter(pk__gt=last, action="membership.changed").order_by("id")
    assert {
        (e.details["user"], e.details["role"], e.details["previous_role"]) for e in changed
    } == {
        ("alice", None, "editor"),
        ("dave", "editor", "viewer"),
        ("erin", "viewer", None),
    }
    assert all(e.actor == root and e.namespace == "sales-ops" for e in changed)
    assert not AuditEvent.objects.filter(pk__gt=last).exclude(action="membership.changed").exists()


def test_adding_a_namespace_with_members_goes_through_the_services(admin_client, root, alice):
    data = {
        "slug": "ops",
        "name": "Ops",
        "description": "",
        "required_approvals": "1",
        "owner_approval_required": "on",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": str(alice.pk),
        "memberships-0-role": Role.EDITOR,
        "policies-TOTAL_FORMS": "0",
        "policies-INITIAL_FORMS": "0",
        "_continue": "1",
    }

    response = admin_client.post("/admin/configs/namespace/add/", data)

    namespace = Namespace.objects.get(slug="ops")
    assert response.status_code == 302
    assert response.url == change_url(namespace)  # "Save and continue editing" found it
    assert namespace.owner_approval_required
    assert Membership.objects.get(namespace=namespace).user == alice
    actions = list(
        AuditEvent.objects.filter(namespace="ops").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["namespace.created", "membership.changed"]  # one event per action


def test_a_staff_member_who_is_not_a_namespace_admin_gets_a_form_error_not_a_change(client, alice):
    from django.contrib.auth.models import Permission

    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(Permission.objects.filter(content_type__app_label="configs"))
    client.force_login(alice)
    namespace = Namespace.objects.get(slug="sales-ops")
    data = untouched(client.get(change_url(namespace)))
    data["required_approvals"] = "3"
    before = AuditEvent.objects.count()

    response = client.post(change_url(namespace), data)

    assert response.status_code == 200
    assert "You need the admin role in sales-ops" in errors_of(response)
    assert Namespace.objects.get(slug="sales-ops").required_approvals == 0
    assert AuditEvent.objects.count() == before


# --- configs --------------------------------------------------------------------------------


def config_add_data(**overrides):
    namespace = Namespace.objects.get(slug="sales-ops")
    data = {
        "namespace": str(namespace.pk),
        "key": "flags",
        "name": "Flags",
        "description": "",
        "first_value": '{"on": true}',
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_a_config_publishes_its_first_value_as_version_1(admin_client, root, carol):
    response = admin_client.post(
        "/admin/configs/config/add/",
        config_add_data(owners=[str(carol.pk)], reason="For the new flags"),
    )

    assert response.status_code == 302
    config = Config.objects.get(key="flags")
    version = versions_of(config).get()
    assert (version.number, version.value, version.published_by) == (1, {"on": True}, root)
    assert version.reason == "For the new flags"
    assert list(config.owners.all()) == [carol]
    [event] = events("config.created")[-1:]
    assert (event.actor, event.config) == (root, "flags")


def test_a_config_without_a_first_value_is_not_added(admin_client):
    response = admin_client.post("/admin/configs/config/add/", config_add_data(first_value=None))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["first_value"] == ["This field is required."]
    assert not Config.objects.filter(key="flags").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"on": true, "on": false}', "appears twice"),
        ('{"x": NaN}', "NaN is not allowed"),
        ("[" * 100 + "]" * 100, "nested more than"),
    ],
)
def test_a_first_value_is_read_as_strict_json(admin_client, text, message):
    response = admin_client.post("/admin/configs/config/add/", config_add_data(first_value=text))

    assert response.status_code == 200
    assert message in errors_of(response)
    assert not Config.objects.filter(key="flags").exists()


def test_a_first_value_its_schema_rejects_is_shown_on_the_form(admin_client):
    schema = Schema.objects.get(name=METRICS_SCHEMA)
    response = admin_client.post(
        "/admin/configs/config/add/",
        config_add_data(schema=str(schema.pk), first_value='{"metrics": "none"}'),
    )

    assert response.status_code == 200
    assert "/metrics" in " ".join(response.context["adminform"].form.errors["first_value"])
    assert not Config.objects.filter(key="flags").exists()
    assert not AuditEvent.objects.filter(action="config.created", config="flags").exists()


def test_changing_owners_writes_one_config_changed_event(admin_client, root, metrics, bob):
    data = untouched(admin_client.get(change_url(metrics)))
    data["owners"] = [str(bob.pk)]
    data["reason"] = "Bob owns metrics now"

    response = admin_client.post(change_url(metrics), data)

    assert response.status_code == 302
    assert list(metrics.owners.values_list("username", flat=True)) == ["bob"]
    [event] = events("config.changed")
    assert (event.actor, event.reason) == (root, "Bob owns metrics now")
    assert event.details == {"changes": {"owners": {"before": ["carol"], "after": ["bob"]}}}


def test_a_schema_the_live_value_fails_is_refused_on_the_config_form(admin_client):
    legacy = Config.objects.get(key="legacy-fields")
    data = untouched(admin_client.get(change_url(legacy)))
    data["schema"] = str(Schema.objects.get(name=METRICS_SCHEMA).pk)
    data["name"] = "Renamed"

    response = admin_client.post(change_url(legacy), data)

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["schema"])
    assert "sales-ops/legacy-fields v1" in errors
    assert "sales-ops/legacy-fields v1" in response.content.decode()
    legacy.refresh_from_db()
    assert (legacy.schema, legacy.name) == (None, "Legacy fields")
    assert events("config.changed") == []


# --- schemas --------------------------------------------------------------------------------


def test_a_schema_edit_opens_a_schema_change_for_review_never_a_save(admin_client, root, metrics):
    schema = metrics.schema
    body = json.loads(json.dumps(schema.body))
    body["properties"]["unit"] = {"type": "string", "title": "Unit"}
    data = untouched(admin_client.get(change_url(schema)))
    data["body"] = json.dumps(body)
    data["reason"] = "Metrics may name their unit"

    response = admin_client.post(change_url(schema), data)

    [change] = ChangeRequest.objects.filter(changes__schema=schema)
    assert response.status_code == 302
    assert response["Location"] == change.get_absolute_url()
    assert (change.schema_change.body, change.author, change.title) == (
        body,
        root,
        "Metrics may name their unit",
    )
    # Its configs need no approval (sales-ops), so, as for a config's change request, it is
    # approved at once; it is still not published.
    assert change.status == "approved"
    schema.refresh_from_db()
    assert "unit" not in schema.body["properties"]
    assert schema.versions.count() == 1
    assert events("schema.changed") == []
    assert [e.actor for e in events("change_request.opened")] == [root]


def test_a_schema_edit_rejecting_values_no_default_fixes_is_refused_naming_config_and_path(
    admin_client, metrics
):
    schema = metrics.schema
    body = json.loads(json.dumps(schema.body))
    body["properties"]["metrics"]["maxItems"] = 1
    data = untouched(admin_client.get(change_url(schema)))
    data["body"] = json.dumps(body)

    response = admin_client.post(change_url(schema), data)

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["body"])
    assert "sales-ops/custom-metrics at /metrics:" in errors
    schema.refresh_from_db()
    assert "maxItems" not in schema.body["properties"]["metrics"]
    assert not ChangeRequest.objects.exists()
    assert events("schema.changed") == []


def test_a_compatible_schema_edit_is_saved_and_audited(admin_client, root, metrics):
    schema = metrics.schema
    data = untouched(admin_client.get(change_url(schema)))
    data["title"] = "Metrics customers define"
    data["reason"] = "Clearer title"

    response = admin_client.post(change_url(schema), data)

    assert response.status_code == 302
    assert Schema.objects.get(pk=schema.pk).title == "Metrics customers define"
    [event] = events("schema.changed")
    assert (event.actor, event.reason) == (root, "Clearer title")


def test_adding_a_schema_is_audited(admin_client, root):
    response = admin_client.post(
        "/admin/configs/schema/add/",
        {"name": "flags", "title": "", "description": "", "body": '{"type": "object"}'},
    )

    assert response.status_code == 302
    assert Schema.objects.get(name="flags").body == {"type": "object"}
    assert events("schema.created")[-1].actor == root


# --- what the admin no longer does ----------------------------------------------------------


def test_history_cannot_be_reverted_and_nothing_can_be_deleted_from_the_admin(admin_client):
    namespace = Namespace.objects.get(slug="sales-ops")
    history_id = namespace.history.first().history_id
    revert = f"/admin/configs/namespace/{namespace.pk}/history/{history_id}/"

    assert admin_client.post(revert, {"name": "Hijacked"}).status_code == 403
    assert admin_client.get(f"/admin/configs/namespace/{namespace.pk}/delete/").status_code == 403
    assert Namespace.objects.get(slug="sales-ops").name == "Sales ops"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/configs/namespace/add/",
        "/admin/configs/schema/add/",
        "/admin/configs/config/add/",
        "/admin/configs/namespace/",
        "/admin/configs/config/",
    ],
)
def test_admin_pages_open(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_change_pages_show_the_key_fields_read_only(admin_client, metrics):
    page = admin_client.get(change_url(metrics))
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) >= {"owners", "schema", "reason"}
    assert "key" not in page.context["adminform"].form.fields
    assert admin_client.get(change_url(metrics.schema)).status_code == 200
