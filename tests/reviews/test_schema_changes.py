"""Schema change requests: a schema and the values it would reject change together, reviewed as
one unit and published in one transaction, or not at all."""

import copy
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.errors import Conflict, RuleViolation
from configs import selectors, services
from configs.models import Config, Membership, Namespace, Role
from reviews import services as review_services
from reviews.kinds import schema as schema_kind
from reviews.kinds.schema import InvalidValues, fill_defaults
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import in_default_environment, in_every_environment, with_company


def owner_team(body, default="data"):
    body = copy.deepcopy(body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team"}
    if default is not None:
        item["properties"]["owner_team"]["default"] = default
    item["required"] = [*item["required"], "owner_team"]
    return body


def open_change(timezones, author, body=None, **kwargs):
    return review_services.schema_change_open(
        schema=timezones.schema,
        author=author,
        body=body or owner_team(timezones.schema.body),
        base_version=1,
        title="Every company has an owner team",
        **kwargs,
    )


def items(change_request):
    """A schema change's config changes (the values it migrates or the author gave) in the
    default environment (it has the same in every other environment)."""
    return in_default_environment(change_request.changes.filter(config__isnull=False))


def opened_for(timezones):
    """The one change request that changes the timezones schema."""
    return ChangeRequest.objects.get(changes__schema=timezones.schema)


def refreshed(config):
    return Config.objects.select_related("namespace", "schema").get(pk=config.pk)


def test_defaults_fill_new_required_fields_at_every_depth(timezones):
    value = fill_defaults(
        selectors.live_version(timezones).value, owner_team(timezones.schema.body)
    )

    assert {c["owner_team"] for c in value["companies"]} == {"data"}


def test_a_schema_change_with_a_default_migrates_every_affected_value(carol, bob, timezones):
    change = open_change(timezones, carol)

    item = items(change).get()
    assert (item.config, item.base_version.number, item.migrated) == (timezones, 1, True)
    assert all(c["owner_team"] == "data" for c in item.value["companies"])
    assert change.status == "in_review"

    review_services.change_request_approve(change_request=change, reviewer=bob)
    review_services.change_request_publish(change_request=change, actor=bob)

    timezones = refreshed(timezones)
    live = selectors.live_version(timezones)
    assert live.number == 2
    assert live.schema_version.number == 2
    assert timezones.schema.body["properties"]["companies"]["items"]["required"][-1] == "owner_team"
    assert {c["owner_team"] for c in live.value["companies"]} == {"data"}
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    # A schema change is a change request: its events are change requests' (webhooks fire).
    assert {"change_request.opened", "change_request.approved", "change_request.published"} <= (
        actions
    )
    assert not any(action.startswith("schema_change.") for action in actions)


def test_without_a_default_the_change_is_refused_naming_the_config_and_paths(carol, timezones):
    with pytest.raises(InvalidValues) as refused:
        open_change(timezones, carol, body=owner_team(timezones.schema.body, default=None))

    errors = refused.value.errors
    # The value is the same in every environment, and each is named.
    assert {e["config"] for e in errors} == {
        "data-pipelines/company-timezones",
        "data-pipelines/company-timezones@development",
        "data-pipelines/company-timezones@staging",
    }
    assert [e["path"] for e in errors if e["config"] == "data-pipelines/company-timezones"] == [
        f"/companies/{n}/owner_team" for n in range(3)
    ]
    assert "data-pipelines/company-timezones" in str(refused.value)


def test_a_value_given_by_the_author_fixes_what_the_defaults_cannot(carol, timezones):
    value = copy.deepcopy(selectors.live_version(timezones).value)
    for n, company in enumerate(value["companies"]):
        company["owner_team"] = f"team-{n}"

    change = open_change(
        timezones,
        carol,
        body=owner_team(timezones.schema.body, default=None),
        values=in_every_environment("data-pipelines/company-timezones", value),
    )

    item = items(change).get()
    assert (item.value, item.migrated) == (value, False)


def test_only_admins_of_every_namespace_using_the_schema_propose_changes(alice, bob):
    timezones = Config.objects.get(key="company-timezones")
    for person in (alice, bob):
        with pytest.raises(PermissionDenied):
            open_change(timezones, person)


def test_a_change_that_changes_nothing_is_refused(carol, timezones):
    with pytest.raises(ValidationError, match="Nothing would change"):
        open_change(timezones, carol, body=timezones.schema.body)


def test_only_reviewers_in_every_affected_namespace_count(carol, bob, timezones, django_user_model):
    sales = Namespace.objects.get(slug="sales-ops")
    other = services.config_create(
        namespace=sales,
        key="tz-copy",
        name="Copy",
        value=selectors.live_version(timezones).value,
        actor=carol,
        schema=timezones.schema,
    )
    frank = django_user_model.objects.create_user("frank")
    Membership.objects.create(user=frank, namespace=timezones.namespace, role=Role.REVIEWER)
    change = open_change(timezones, carol)
    assert items(change).count() == 2

    with pytest.raises(PermissionDenied, match="reviewer role in data-pipelines, sales-ops"):
        review_services.change_request_approve(change_request=change, reviewer=frank)
    review_services.change_request_approve(change_request=change, reviewer=bob)
    review_services.change_request_publish(change_request=change, actor=bob)

    assert selectors.live_version(other).number == 2


def test_it_cannot_be_published_without_approval_nor_by_its_author(carol, bob, timezones):
    change = open_change(timezones, carol)

    with pytest.raises(RuleViolation, match="1 more approval"):
        review_services.change_request_publish(change_request=change, actor=bob)
    with pytest.raises(PermissionDenied):
        review_services.change_request_approve(change_request=change, reviewer=carol)


def test_one_config_moving_past_its_base_conflicts_the_whole_change(carol, alice, bob, timezones):
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)
    meanwhile = review_services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )
    review_services.change_request_approve(change_request=meanwhile, reviewer=bob)
    review_services.change_request_publish(change_request=meanwhile, actor=bob)

    with pytest.raises(Conflict, match="moved past version 1"):
        review_services.change_request_publish(change_request=change, actor=bob)

    change.refresh_from_db()
    assert change.status == "conflicted"
    assert refreshed(timezones).schema.versions.count() == 1  # nothing was written
    assert selectors.live_version(timezones).number == 2

    rebased = review_services.change_request_rebase(change_request=change, actor=carol)
    item = items(rebased).get()
    assert item.base_version.number == 2
    assert "hooli" in {c["company_id"] for c in item.value["companies"]}
    review_services.change_request_approve(change_request=rebased, reviewer=bob)
    review_services.change_request_publish(change_request=rebased, actor=bob)
    assert selectors.live_version(timezones).number == 3


def test_a_scheduled_version_in_the_way_is_named_with_the_earliest_instant(carol, bob, timezones):
    later = timezone.now() + timedelta(days=2)
    scheduled = review_services.change_request_open(
        config=timezones,
        author=carol,
        value=with_company(timezones, "hooli"),
        title="Add hooli later",
        base_version=1,
    )
    review_services.change_request_approve(change_request=scheduled, reviewer=bob)
    review_services.change_request_publish(change_request=scheduled, actor=bob, effective_at=later)
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)

    with pytest.raises(RuleViolation) as refused:
        review_services.change_request_publish(change_request=change, actor=bob)
    assert "company-timezones version 2" in str(refused.value)
    assert f"{later:%Y-%m-%d %H:%M}" in str(refused.value)

    review_services.change_request_publish(change_request=change, actor=bob, effective_at=later)
    newest = selectors.newest_version(timezones)
    assert (newest.number, newest.effective_at) == (3, later)


def test_a_withdrawn_change_cannot_be_published(carol, bob, timezones):
    change = open_change(timezones, carol)
    review_services.change_request_withdraw(change_request=change, actor=carol)

    with pytest.raises(RuleViolation, match="withdrawn"):
        review_services.change_request_publish(change_request=change, actor=bob)


def test_publishing_is_all_or_nothing(carol, bob, timezones, monkeypatch):
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)

    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(schema_kind, "versions_publish", fail)
    with pytest.raises(RuntimeError):
        review_services.change_request_publish(change_request=change, actor=bob)

    assert refreshed(timezones).schema.versions.count() == 1
    change.refresh_from_db()
    assert change.status == "approved"


# The API


def _writer(user):
    return client_for(make_token(user, "data-pipelines", "sales-ops", write=True)[1])


def test_the_api_runs_a_schema_change_from_proposal_to_publish(carol, bob, timezones):
    body = owner_team(timezones.schema.body)
    opened = _writer(carol).post(
        "/api/v1/schemas/company-timezones/change-requests/",
        {"schema": body, "base_version": 1, "title": "Owner teams"},
    )
    assert opened.status_code == 201, opened.json()
    answer = opened.json()
    assert (answer["status"], answer["kind"]) == ("in_review", "schema")
    schema, *configs = answer["changes"]
    assert (schema["kind"], schema["schema"], schema["base_version"]) == (
        "schema",
        "company-timezones",
        1,
    )
    assert schema["body"] == body
    # One change for each environment's value (development, staging, production), each on
    # that environment's newest version (the demo's staging is at version 2).
    assert [(c["kind"], c["namespace"], c["key"], c["base_version"]) for c in configs] == [
        ("config", "data-pipelines", "company-timezones", 1),
        ("config", "data-pipelines", "company-timezones", 2),
        ("config", "data-pipelines", "company-timezones", 1),
    ]
    assert "items" not in answer
    pk = answer["id"]

    approved = _writer(bob).post(f"/api/v1/change-requests/{pk}/approve/", {})
    published = _writer(bob).post(f"/api/v1/change-requests/{pk}/publish/", {})

    assert approved.json()["status"] == "approved"
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_version"] == 2  # the schema's
    # The schema's version 2, then each environment's next version (staging's is its third).
    assert [c["published_version"] for c in published.json()["changes"]] == [2, 2, 3, 2]
    read = client_for(make_token(bob, "data-pipelines")[1]).get(
        "/api/v1/configs/data-pipelines/company-timezones/"
    )
    assert read.json()["schema_version"] == 2
    assert read.json()["value"]["companies"][0]["owner_team"] == "data"


def test_the_api_refuses_a_change_that_leaves_values_invalid(carol, timezones):
    response = _writer(carol).post(
        "/api/v1/schemas/company-timezones/change-requests/",
        {
            "schema": owner_team(timezones.schema.body, default=None),
            "base_version": 1,
            "title": "Owner teams",
        },
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    # (the first of the default environment's; the other environments' values are named too)
    assert [e for e in errors if e["config"] == "data-pipelines/company-timezones"][0] == {
        "config": "data-pipelines/company-timezones",
        "path": "/companies/0/owner_team",
        "message": "Owner team is required.",
    }


@pytest.mark.parametrize(
    "persona, body, status",
    [
        ("alice", {"base_version": 1, "title": "x"}, 403),
        ("carol", {"base_version": 7, "title": "x"}, 409),
        ("carol", {"base_version": 1, "title": "x", "schema": {"type": "nonsense"}}, 400),
    ],
)
def test_the_api_refuses_bad_schema_changes(request, timezones, persona, body, status):
    body = {"schema": owner_team(timezones.schema.body), **body}
    response = _writer(request.getfixturevalue(persona)).post(
        "/api/v1/schemas/company-timezones/change-requests/", body
    )

    assert response.status_code == status, response.json()


def test_a_schema_change_one_cannot_see_answers_404(carol, erin, timezones):
    change = open_change(timezones, carol)
    api = client_for()
    api.force_authenticate(erin)

    assert api.get(f"/api/v1/change-requests/{change.pk}/").status_code == 404


# The console


def _edit_form(timezones, body, **extra):
    import json

    return {
        "title": timezones.schema.title,
        "description": timezones.schema.description,
        "body": json.dumps(body),
        "reason": "Every company has an owner team",
        "base_version": "1",
        **extra,
    }


def test_editing_a_schema_in_the_console_proposes_a_change_never_a_save(client, carol, timezones):
    client.force_login(carol)
    body = owner_team(timezones.schema.body)

    checked = client.post("/schemas/company-timezones/edit/", _edit_form(timezones, body, check=1))
    text = checked.content.decode()
    assert "Companies → item: new required field Owner team, default &#x27;data&#x27;" in text
    assert "filled in from the schema's defaults" in text
    assert refreshed(timezones).schema.versions.count() == 1

    submitted = client.post(
        "/schemas/company-timezones/edit/", _edit_form(timezones, body, submit=1)
    )
    assert submitted.status_code == 302
    change = opened_for(timezones)
    assert submitted["Location"] == f"/changes/{change.pk}/"
    assert refreshed(timezones).schema.versions.count() == 1


def test_a_value_the_defaults_cannot_fix_is_fixed_in_the_same_change(client, carol, timezones):
    import json

    client.force_login(carol)
    body = owner_team(timezones.schema.body, default=None)
    checked = client.post("/schemas/company-timezones/edit/", _edit_form(timezones, body, check=1))
    assert "needs a fix" in checked.content.decode()
    assert "Owner team is required." in checked.content.decode()
    assert "Submit for review" not in checked.content.decode()

    value = copy.deepcopy(selectors.live_version(timezones).value)
    for company in value["companies"]:
        company["owner_team"] = "growth"
    fixed = {
        f"value:{label}": json.dumps(fixed)
        for label, fixed in in_every_environment("data-pipelines/company-timezones", value).items()
    }
    submitted = client.post(
        "/schemas/company-timezones/edit/", _edit_form(timezones, body, submit=1, **fixed)
    )

    assert submitted.status_code == 302
    assert items(opened_for(timezones)).get().value == value


def test_bob_reviews_the_schema_and_the_values_on_one_page_and_publishes(
    client, carol, bob, timezones
):
    change = open_change(timezones, carol)
    client.force_login(bob)

    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "new required field Owner team" in page
    assert "Owner team: added data" in page or "owner_team" in page
    client.post(f"/changes/{change.pk}/approve/")
    client.post(f"/changes/{change.pk}/publish/")

    change.refresh_from_db()
    assert change.status == "published"
    assert selectors.live_version(timezones).schema_version.number == 2


def test_people_without_a_role_do_not_see_schema_changes(client, carol, erin, timezones):
    change = open_change(timezones, carol)
    client.force_login(erin)

    assert client.get(f"/changes/{change.pk}/").status_code == 404


def test_the_schema_page_lists_its_open_schema_changes(client, carol, dave, timezones):
    change = open_change(timezones, carol)
    client.force_login(dave)

    page = client.get("/schemas/company-timezones/").content.decode()

    assert f"/changes/{change.pk}/" in page
    assert "Every company has an owner team" in page


def _elsewhere(value):
    """The raw JSON fields giving `value` to company-timezones outside the default environment
    (the tests fix the default environment's value in the way they try)."""
    import json

    given = in_every_environment("data-pipelines/company-timezones", value)
    return {
        f"value:{label}": json.dumps(fixed)
        for label, fixed in given.items()
        if label != "data-pipelines/company-timezones"
    }


def test_a_value_the_defaults_cannot_fix_is_fixed_in_its_form_of_the_new_schema(
    client, carol, timezones
):
    import json

    client.force_login(carol)
    body = owner_team(timezones.schema.body, default=None)
    checked = client.post("/schemas/company-timezones/edit/", _edit_form(timezones, body, check=1))
    page = checked.content.decode()
    assert 'name="fix1-value"' in page  # the config's form, drawn from the new schema
    assert "Owner team" in page
    assert 'name="value:data-pipelines/company-timezones"' in page  # raw JSON stays offered

    value = copy.deepcopy(selectors.live_version(timezones).value)
    for company in value["companies"]:
        company["owner_team"] = "growth"
    fixed = {
        "fix1-label": "data-pipelines/company-timezones",
        "fix1-editor": "form",
        "fix1-value": json.dumps(value),
        # The raw JSON field still holds the old value: the chosen editor wins.
        "value:data-pipelines/company-timezones": json.dumps(
            selectors.live_version(timezones).value
        ),
        **_elsewhere(value),
    }
    submitted = client.post(
        "/schemas/company-timezones/edit/", _edit_form(timezones, body, submit=1, **fixed)
    )

    assert submitted.status_code == 302
    assert items(opened_for(timezones)).get().value == value


def test_a_fixed_value_checked_as_fitting_is_kept_when_submitted(client, carol, timezones):
    """After "Check", a value the author fixed reads "your value fits": the page carries it on
    to "Submit for review" (it used to be lost there, and the change refused as invalid)."""
    import html
    import json
    import re

    client.force_login(carol)
    body = owner_team(timezones.schema.body, default=None)
    value = copy.deepcopy(selectors.live_version(timezones).value)
    for company in value["companies"]:
        company["owner_team"] = "growth"
    field = "value:data-pipelines/company-timezones"
    checked = client.post(
        "/schemas/company-timezones/edit/",
        _edit_form(timezones, body, check=1, **{field: json.dumps(value)}, **_elsewhere(value)),
    ).content.decode()
    assert "your value fits" in checked
    carried = re.search(rf'name="{re.escape(field)}" value="([^"]*)"', checked)
    assert carried is not None

    submitted = client.post(
        "/schemas/company-timezones/edit/",
        _edit_form(
            timezones,
            body,
            submit=1,
            **{field: html.unescape(carried.group(1))},
            **_elsewhere(value),
        ),
    )

    assert submitted.status_code == 302
    assert items(opened_for(timezones)).get().value == value


# The rules every change request follows, schema changes included (they drifted apart before).


def _open_config_change(timezones, author):
    return review_services.change_request_open(
        config=timezones,
        author=author,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )


def _open(kind, timezones, carol):
    if kind == "schema":
        return open_change(timezones, carol)
    return _open_config_change(timezones, carol)


@pytest.mark.parametrize("kind", ["schema", "config"])
def test_a_reviewer_who_lost_the_role_neither_counts_nor_blocks(kind, carol, bob, timezones):
    from reviews.gate import gate_for

    change = _open(kind, timezones, carol)
    review_services.change_request_request_changes(
        change_request=change, reviewer=bob, comment="Not yet"
    )
    change.refresh_from_db()
    assert [u.username for u in gate_for(change).blockers] == ["bob"]

    Membership.objects.filter(user=bob, namespace=timezones.namespace).update(role=Role.EDITOR)
    change.refresh_from_db()
    gate = gate_for(change)
    assert (gate.blockers, gate.approvers) == ([], [])


@pytest.mark.parametrize("kind", ["schema", "config"])
def test_a_demoted_author_may_neither_edit_nor_rebase_nor_submit(kind, carol, timezones):
    change = _open(kind, timezones, carol)
    Membership.objects.filter(user=carol).update(role=Role.VIEWER)
    change.refresh_from_db()
    carol = type(carol).objects.get(pk=carol.pk)  # her next request reads her roles again

    edit = (
        {"title": "Another title"}
        if kind == "schema"
        else {"value": with_company(timezones, "globex")}
    )
    with pytest.raises(PermissionDenied):
        review_services.change_request_edit(change_request=change, actor=carol, **edit)
    with pytest.raises(PermissionDenied):
        review_services.change_request_rebase(change_request=change, actor=carol)
    with pytest.raises(PermissionDenied):
        review_services.change_request_submit(change_request=change, actor=carol)
    # Taking it back stays hers.
    review_services.change_request_withdraw(change_request=change, actor=carol)


def test_a_schema_change_title_must_be_one_line(carol, timezones):
    with pytest.raises(ValidationError):
        review_services.schema_change_open(
            schema=timezones.schema,
            author=carol,
            body=owner_team(timezones.schema.body),
            base_version=1,
            title="Owner teams\nand more",
        )
    change = open_change(timezones, carol)
    with pytest.raises(ValidationError):
        review_services.change_request_edit(
            change_request=change, actor=carol, title="Owner teams\nand more"
        )


def test_a_conflicted_schema_change_emails_its_author(
    carol, alice, bob, timezones, mailoutbox, django_capture_on_commit_callbacks
):
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)
    meanwhile = _open_config_change(timezones, alice)
    review_services.change_request_approve(change_request=meanwhile, reviewer=bob)

    # Publishing a value of one of its configs conflicts it: its author hears (alice hears
    # that hers is published).
    with django_capture_on_commit_callbacks(execute=True):
        review_services.change_request_publish(change_request=meanwhile, actor=bob)

    change.refresh_from_db()
    assert change.status == "conflicted"
    to_carol = [m for m in mailoutbox if m.to == ["carol@example.com"]]
    assert [m.subject for m in to_carol] == [
        "[Config Console] Your change to schema company-timezones needs a rebase"
    ]
    assert change.get_absolute_url() in to_carol[0].body
    with pytest.raises(Conflict):
        review_services.change_request_publish(change_request=change, actor=bob)


def test_a_schema_change_is_rejected_by_a_reviewer_of_every_namespace_it_touches(
    carol, bob, timezones, django_user_model
):
    services.config_create(
        namespace=Namespace.objects.get(slug="sales-ops"),
        key="tz-copy",
        name="Copy",
        value=selectors.live_version(timezones).value,
        actor=carol,
        schema=timezones.schema,
    )
    frank = django_user_model.objects.create_user("frank")
    Membership.objects.create(user=frank, namespace=timezones.namespace, role=Role.REVIEWER)
    change = open_change(timezones, carol)

    with pytest.raises(PermissionDenied, match="data-pipelines, sales-ops"):
        review_services.change_request_reject(change_request=change, actor=frank, reason="No")
    review_services.change_request_reject(change_request=change, actor=bob, reason="Not now")

    change.refresh_from_db()
    assert change.status == "rejected"
    events = AuditEvent.objects.filter(action="change_request.rejected")
    # One event per namespace whose configs change: each namespace's members see theirs.
    assert sorted(events.values_list("namespace", flat=True)) == ["data-pipelines", "sales-ops"]
    assert {e.reason for e in events} == {"Not now"}
    with pytest.raises(RuleViolation):
        review_services.change_request_publish(change_request=change, actor=bob)


def test_a_schema_change_s_events_reach_the_members_of_its_namespaces(carol, dave, erin, timezones):
    from audit import selectors as audit_selectors

    change = open_change(timezones, carol)

    event = AuditEvent.objects.get(action="change_request.opened")
    assert (event.namespace, event.details["change_request"], event.details["schema"]) == (
        "data-pipelines",
        change.pk,
        "company-timezones",
    )
    assert event.details["changes"] == ["data-pipelines/company-timezones"]
    # dave, a viewer of data-pipelines, sees it; erin, with no role, does not.
    assert event in audit_selectors.filtered_events(user=dave)
    assert event not in audit_selectors.filtered_events(user=erin)


def test_a_change_of_a_schema_nobody_uses_is_for_admins_anywhere_alike(
    client, carol, bob, dave, demo
):
    """Its inbox entry, its page and its API answer agree (they used to disagree: listed in an
    admin's inbox, 404 on the page, 200 from the API): admins anywhere see and review it,
    nobody else sees it."""
    from configs.models import Membership, Namespace, Role
    from configs.services import schema_create
    from tests.api.conftest import client_for

    schema = schema_create(
        name="unused", body={"type": "object", "properties": {}}, actor=carol, title="Unused"
    )
    change = review_services.schema_change_open(
        schema=schema,
        author=carol,
        body={"type": "object", "properties": {"note": {"type": "string"}}},
        base_version=1,
        title="A note",
    )
    other_admin = bob
    Membership.objects.filter(user=bob).delete()
    Membership.objects.create(
        user=bob, namespace=Namespace.objects.get(slug="sales-ops"), role=Role.ADMIN
    )
    api = client_for()

    for person, sees in ((other_admin, True), (dave, False)):
        client.force_login(person)
        api.force_authenticate(person)
        page = client.get(f"/changes/{change.pk}/")
        inbox = client.get("/changes/inbox/").content.decode()
        answer = api.get(f"/api/v1/change-requests/{change.pk}/")
        assert (page.status_code, answer.status_code) == ((200, 200) if sees else (404, 404))
        assert (f"/changes/{change.pk}/" in inbox) is sees
