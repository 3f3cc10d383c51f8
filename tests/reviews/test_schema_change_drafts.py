"""A schema change whose values the defaults cannot fix is kept as its author's draft, each
config's value is fixed in that config's form inside it, and it is submitted only once every
value fits. Its author may change the proposal later; approvals of the old one are dismissed."""

import copy
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from configs import selectors
from reviews import services as review_services
from reviews.kinds.schema import InvalidValues
from tests.api.conftest import client_for, make_token
from tests.reviews.test_schema_changes import items, open_change, opened_for, owner_team
from tests.values import in_every_environment

LABEL = "data-pipelines/company-timezones"


def with_owner_team(timezones, team="growth"):
    value = copy.deepcopy(selectors.live_version(timezones).value)
    for company in value["companies"]:
        company["owner_team"] = team
    return value


def open_draft(timezones, carol):
    return open_change(timezones, carol, body=owner_team(timezones.schema.body, None), draft=True)


def test_a_draft_keeps_values_still_to_fix_and_asks_nobody(
    carol, timezones, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        draft = open_draft(timezones, carol)

    assert draft.status == "draft"
    item = items(draft).get()
    assert item.problems[0] == {
        "path": "/companies/0/owner_team",
        "message": "Owner team is required.",
    }
    assert mailoutbox == []
    with pytest.raises(InvalidValues, match="would reject the value of " + LABEL):
        review_services.change_request_submit(change_request=draft, actor=carol)


def test_a_fixed_draft_is_submitted_and_reviewers_are_asked(
    carol, bob, timezones, mailoutbox, django_capture_on_commit_callbacks
):
    draft = open_draft(timezones, carol)

    review_services.change_request_edit(
        change_request=draft,
        actor=carol,
        values=in_every_environment(LABEL, with_owner_team(timezones)),
    )
    draft.refresh_from_db()
    assert items(draft).get().problems == []
    assert draft.status == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        review_services.change_request_submit(change_request=draft, actor=carol)

    draft.refresh_from_db()
    assert draft.status == "in_review"
    assert any("Review requested" in m.subject and bob.email in m.to for m in mailoutbox)
    assert [
        e.action
        for e in AuditEvent.objects.filter(
            action__startswith="change_request.", details__change_request=draft.pk
        ).order_by("pk")
    ] == [
        "change_request.opened",
        "change_request.edited",
        "change_request.submitted",
    ]


def test_an_edit_in_review_dismisses_approvals_and_keeps_values_given_before(carol, bob, timezones):
    body = owner_team(timezones.schema.body, None)
    change = open_change(
        timezones, carol, body=body, values=in_every_environment(LABEL, with_owner_team(timezones))
    )
    review_services.change_request_approve(change_request=change, reviewer=bob)
    change.refresh_from_db()
    assert change.status == "approved"

    body["properties"]["companies"]["items"]["properties"]["owner_team"]["maxLength"] = 20
    review_services.change_request_edit(change_request=change, actor=carol, body=body)

    change.refresh_from_db()
    assert (change.status, change.revision) == ("in_review", 2)
    assert items(change).get().value == with_owner_team(timezones)  # kept, not migrated again
    assert change.reviews.filter(dismissed_at__isnull=True).count() == 0


def test_an_edit_in_review_that_leaves_a_value_invalid_is_refused(carol, timezones):
    change = open_change(
        timezones,
        carol,
        body=owner_team(timezones.schema.body, None),
        values=in_every_environment(LABEL, with_owner_team(timezones)),
    )

    with pytest.raises(InvalidValues):
        review_services.change_request_edit(
            change_request=change, actor=carol, values={LABEL: with_owner_team(timezones, 7)}
        )
    assert items(change).get().value == with_owner_team(timezones)


@pytest.mark.parametrize("who", ["bob", "alice"])
def test_only_the_author_edits_or_submits(request, carol, timezones, who):
    draft = open_draft(timezones, carol)
    other = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        review_services.change_request_edit(change_request=draft, actor=other, values={})
    with pytest.raises(PermissionDenied):
        review_services.change_request_submit(change_request=draft, actor=other)


def test_an_edit_back_to_the_old_schema_changes_nothing_and_is_refused(carol, timezones):
    draft = open_draft(timezones, carol)

    with pytest.raises(ValidationError, match="Nothing would change"):
        review_services.change_request_edit(
            change_request=draft, actor=carol, body=timezones.schema.body
        )


def test_carol_saves_a_draft_fixes_the_value_in_its_form_and_submits(client, carol, timezones):
    client.force_login(carol)
    body = owner_team(timezones.schema.body, None)
    saved = client.post(
        "/schemas/company-timezones/edit/",
        {
            "title": timezones.schema.title,
            "description": timezones.schema.description,
            "body": json.dumps(body),
            "reason": "Every company has an owner team",
            "base_version": "1",
            "draft": "1",
        },
    )
    draft = opened_for(timezones)
    assert saved["Location"] == f"/changes/{draft.pk}/"
    page = client.get(saved["Location"]).content.decode()
    assert "Draft — not yet sent for review." in page
    assert "1 config still needs a value the new schema accepts" in page
    assert "Owner team is required." in page
    assert "Submit for review" not in page
    fix = f"/changes/{draft.pk}/values/{timezones.pk}/"
    assert fix in page

    form_page = client.get(fix).content.decode()
    assert 'name="fix1-value"' in form_page
    client.post(fix, {f"value:{LABEL}": json.dumps(with_owner_team(timezones))})
    page = client.get(f"/changes/{draft.pk}/").content.decode()
    assert "needs a fix" not in page
    assert "Submit for review" in page

    client.post(f"/changes/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == "in_review"


def test_a_bad_value_on_the_fix_page_is_named_and_nothing_is_saved(client, carol, timezones):
    draft = open_draft(timezones, carol)
    client.force_login(carol)
    fix = f"/changes/{draft.pk}/values/{timezones.pk}/"

    page = client.post(fix, {f"value:{LABEL}": '{"companies": ['}).content.decode()

    assert "errornote" in page
    assert "{&quot;companies&quot;: [" in page  # what was typed is kept
    assert items(draft).get().problems != []


def test_only_the_author_reaches_the_fix_page(client, carol, bob, timezones):
    draft = open_draft(timezones, carol)
    client.force_login(bob)

    assert client.get(f"/changes/{draft.pk}/values/{timezones.pk}/").status_code == 403


def test_the_api_edits_a_schema_change_at_the_change_request_address(carol, bob, timezones):
    change = open_change(
        timezones,
        carol,
        body=owner_team(timezones.schema.body, None),
        values=in_every_environment(LABEL, with_owner_team(timezones)),
    )
    api = client_for(make_token(carol, "data-pipelines", write=True)[1])

    edited = api.patch(
        f"/api/v1/change-requests/{change.pk}/",
        {
            "values": in_every_environment(LABEL, with_owner_team(timezones, "sales")),
            "title": "Owner teams, sales",
        },
        format="json",
    )

    assert edited.status_code == 200, edited.json()
    assert edited.json()["revision"] == 2
    assert edited.json()["title"] == "Owner teams, sales"
    schema, *configs = edited.json()["changes"]
    assert len(configs) == 3  # the config's value in each environment
    for config in configs:
        assert (schema["kind"], config["kind"], config["key"]) == (
            "schema",
            "config",
            "company-timezones",
        )
        assert config["value"]["companies"][0]["owner_team"] == "sales"
    refused = api.patch(
        f"/api/v1/change-requests/{change.pk}/",
        {"values": {LABEL: with_owner_team(timezones, 7)}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["config"] == LABEL


def test_carol_edits_the_schema_of_her_change_in_review_and_bob_must_approve_again(
    client, carol, bob, timezones
):
    from tests.reviews.test_schema_changes import _edit_form

    body = owner_team(timezones.schema.body, None)
    change = open_change(
        timezones, carol, body=body, values=in_every_environment(LABEL, with_owner_team(timezones))
    )
    review_services.change_request_approve(change_request=change, reviewer=bob)
    client.force_login(carol)
    edit = f"/changes/{change.pk}/edit/"
    assert f'href="{edit}"' in client.get(f"/changes/{change.pk}/").content.decode()
    page = client.get(edit).content.decode()
    assert "Saving dismisses the approvals" in page
    assert "owner_team" in page  # the proposed schema, not the live one

    body["properties"]["companies"]["items"]["properties"]["owner_team"]["maxLength"] = 20
    checked = client.post(edit, _edit_form(timezones, body, check=1)).content.decode()
    assert "your value fits" in checked  # the value carol gave before is kept
    saved = client.post(edit, _edit_form(timezones, body, submit=1))

    assert saved["Location"] == f"/changes/{change.pk}/"
    change.refresh_from_db()
    assert (change.status, change.revision) == ("in_review", 2)
    proposed = change.schema_change.body
    assert proposed["properties"]["companies"]["items"]["properties"]["owner_team"] == {
        "type": "string",
        "title": "Owner team",
        "maxLength": 20,
    }
    assert items(change).get().value == with_owner_team(timezones)


def test_only_the_author_edits_a_schema_change_in_the_console(client, carol, bob, timezones):
    change = open_change(timezones, carol)
    client.force_login(bob)

    assert client.get(f"/changes/{change.pk}/edit/").status_code == 403


def test_publishing_a_schema_change_conflicts_open_change_requests_of_its_configs(
    alice, carol, bob, timezones
):
    from reviews import services
    from tests.values import with_company

    proposal = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "globex"),
        title="Add Globex",
        base_version=1,
    )
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)

    review_services.change_request_publish(change_request=change, actor=bob)

    proposal.refresh_from_db()
    assert proposal.status == "conflicted"
    event = AuditEvent.objects.get(action="change_request.conflicted")
    assert event.reason == (
        f"Change request #{change.pk} published schema company-timezones version 2."
    )


def test_a_new_field_order_alone_is_a_schema_change_and_says_so(client, carol, bob, timezones):
    body = copy.deepcopy(timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"] = dict(reversed(list(item["properties"].items())))

    change = open_change(timezones, carol, body=body)

    assert items(change).count() == 0  # every value still fits
    client.force_login(bob)
    page = client.get(change.get_absolute_url()).content.decode()
    order = ", ".join(node.get("title", key) for key, node in item["properties"].items())
    assert f"Companies → item: fields in a new order: {order}" in page
    with pytest.raises(ValidationError, match="Nothing would change"):
        review_services.change_request_edit(
            change_request=change, actor=carol, body=timezones.schema.body
        )


def test_each_environments_value_has_its_own_fix_link_that_changes_it_alone(
    client, carol, timezones
):
    draft = open_draft(timezones, carol)
    client.force_login(carol)
    page = client.get(f"/changes/{draft.pk}/").content.decode()
    fix = f"/changes/{draft.pk}/values/{timezones.pk}/?environment=staging"
    assert fix in page
    assert " in Staging</a>" in page  # links of one config's values say which is which

    staging_value = with_owner_team(timezones, "staging-team")
    client.post(fix, {f"value:{LABEL}@staging": json.dumps(staging_value)})

    by_env = {
        c.env.name: c for c in draft.changes.filter(config=timezones).select_related("config")
    }
    assert by_env["staging"].value == staging_value and by_env["staging"].problems == []
    assert by_env["production"].problems != []  # not given: still to fix
