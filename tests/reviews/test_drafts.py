"""Drafts: a change the author keeps to finish later, reviewed by nobody until they submit it."""

import copy
import json

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from common.errors import RuleViolation
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from reviews import selectors, services
from reviews.models import ChangeRequest
from tests.values import with_company

pytestmark = pytest.mark.django_db

EDIT = "/configs/data-pipelines/company-timezones/edit/"


def save_draft(config, author, company_id="hooli"):
    return services.change_request_open(
        config=config,
        author=author,
        value=with_company(config, company_id),
        title=f"Add {company_id}",
        base_version=newest(config).number,
        draft=True,
    )


@pytest.fixture
def draft(timezones, alice):
    """alice's draft for data-pipelines/company-timezones (one approval required)."""
    return save_draft(timezones, alice)


# --- the services ---------------------------------------------------------------------------


def test_a_draft_is_saved_as_a_draft_and_asks_nobody_to_review(
    timezones, alice, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        draft = save_draft(timezones, alice)

    assert draft.status == ChangeRequest.Status.DRAFT
    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert mailoutbox == []
    event = AuditEvent.objects.get(action="change_request.opened")
    assert event.details["draft"] is True


def test_a_change_opened_for_review_is_not_marked_as_a_draft(timezones, alice):
    services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=newest(timezones).number,
    )

    assert "draft" not in AuditEvent.objects.get(action="change_request.opened").details


def test_a_draft_cannot_also_be_published_at_once(timezones, alice):
    with pytest.raises(ValueError):
        services.change_request_open(
            config=timezones,
            author=alice,
            value=with_company(timezones, "hooli"),
            title="Add hooli",
            base_version=newest(timezones).number,
            draft=True,
            publish=True,
        )
    assert not ChangeRequest.objects.exists()


def test_a_draft_is_not_in_reviewers_queues(draft, bob, carol):
    assert draft not in selectors.waiting_for(bob)
    assert draft not in selectors.waiting_for(carol)


def test_a_draft_is_among_its_authors_changes(draft, alice):
    assert draft in selectors.authored_by(alice)
    assert draft in selectors.authored_by(alice, open_only=True)


@pytest.mark.parametrize(
    "act",
    [
        lambda cr, bob: services.change_request_approve(change_request=cr, reviewer=bob),
        lambda cr, bob: services.change_request_request_changes(
            change_request=cr, reviewer=bob, comment="Hooli is in Berlin"
        ),
        lambda cr, bob: services.change_request_reject(
            change_request=cr, actor=bob, reason="Not a customer"
        ),
        lambda cr, bob: services.change_request_publish(change_request=cr, actor=bob),
    ],
    ids=["approve", "request-changes", "reject", "publish"],
)
def test_reviewers_cannot_act_on_a_draft(draft, bob, act):
    with pytest.raises(RuleViolation, match="is a draft: its author has not submitted it"):
        act(draft, bob)

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert not draft.reviews.exists()


def test_an_admin_cannot_bypass_review_of_a_draft(draft, carol):
    with pytest.raises(RuleViolation, match="is a draft"):
        services.change_request_publish(
            change_request=draft, actor=carol, bypass_reason="Hooli goes live today"
        )
    assert not versions_of(draft.config).filter(number=2).exists()


def test_editing_a_draft_keeps_it_a_draft(draft, alice):
    value = copy.deepcopy(draft.value)
    value["companies"][-1]["timezone"] = "Europe/Berlin"

    services.change_request_edit(change_request=draft, actor=alice, value=value)

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert draft.value["companies"][-1]["timezone"] == "Europe/Berlin"


def test_submitting_a_draft_sends_it_for_review_with_one_event_and_an_email(
    draft, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_submit(change_request=draft, actor=alice)

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.IN_REVIEW
    written = AuditEvent.objects.filter(pk__gt=last)
    assert [(e.action, e.actor_name, e.reason) for e in written] == [
        ("change_request.submitted", "alice", "Add hooli")
    ]
    assert [sorted(m.to) for m in mailoutbox] == [["bob@example.com", "carol@example.com"]]
    assert mailoutbox[0].subject.startswith("[Config Console] Review requested:")
    assert draft in selectors.waiting_for(bob)


@pytest.mark.parametrize("who", ["bob", "carol", "dave"])
def test_only_the_author_can_submit_a_draft(draft, request, who):
    with pytest.raises(PermissionDenied, match="Only the author"):
        services.change_request_submit(change_request=draft, actor=request.getfixturevalue(who))

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert not AuditEvent.objects.filter(action="change_request.submitted").exists()


def test_a_change_already_in_review_cannot_be_submitted_again(draft, alice):
    services.change_request_submit(change_request=draft, actor=alice)

    with pytest.raises(RuleViolation, match="in review; it cannot be submitted for review"):
        services.change_request_submit(change_request=draft, actor=alice)
    assert AuditEvent.objects.filter(action="change_request.submitted").count() == 1


def test_a_submitted_draft_goes_through_the_gate_like_any_change(draft, alice, bob):
    services.change_request_submit(change_request=draft, actor=alice)
    services.change_request_approve(change_request=draft, reviewer=bob)

    version = services.change_request_publish(change_request=draft, actor=bob)

    assert version.value == draft.value


# --- the console ----------------------------------------------------------------------------


def edit_post(client, config, value, **extra):
    data = {
        "editor": "raw",
        "raw": json.dumps(value),
        "title": "Add hooli",
        "base_version": newest(config).number,
        **extra,
    }
    return client.post(EDIT, data)


def test_the_edit_page_offers_save_as_draft_where_review_is_needed(client, alice):
    client.force_login(alice)

    assert 'value="Save as draft"' in client.get(EDIT).content.decode()
    page = client.get("/configs/sales-ops/custom-metrics/edit/").content.decode()
    assert 'value="Save as draft"' not in page


def test_saving_a_draft_from_the_console(
    client, timezones, alice, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = edit_post(client, timezones, with_company(timezones, "hooli"), draft="1")

    draft = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert draft.author == alice
    assert mailoutbox == []
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "Saved as a draft" in page
    assert "Draft — not yet sent for review" in page
    assert 'value="Submit for review"' in page
    assert "Edit my draft" in page


def test_confirming_a_change_still_submits_it_for_review(client, timezones, alice):
    client.force_login(alice)

    edit_post(client, timezones, with_company(timezones, "hooli"), confirmed="1")

    assert ChangeRequest.objects.get().status == ChangeRequest.Status.IN_REVIEW


def test_a_namespace_without_review_still_publishes_directly(client, metrics, alice):
    client.force_login(alice)
    value = copy.deepcopy(newest(metrics).value)
    value["metrics"].append({"name": "refunds", "kind": "count", "event": "refund"})

    client.post(
        "/configs/sales-ops/custom-metrics/edit/",
        {
            "editor": "raw",
            "raw": json.dumps(value),
            "title": "Add refunds",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert ChangeRequest.objects.get().status == ChangeRequest.Status.PUBLISHED


def test_a_draft_is_not_in_bobs_inbox_and_he_cannot_approve_it(client, draft, bob):
    client.force_login(bob)

    assert f"#{draft.pk} " not in client.get("/changes/inbox/").content.decode()
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "Draft — not yet sent for review" in page
    assert 'value="Approve"' not in page
    assert 'value="Reject"' not in page
    assert 'value="Submit for review"' not in page

    response = client.post(f"/changes/{draft.pk}/approve/", {"comment": "Fine"}, follow=True)

    assert "is a draft: its author has not submitted it for review yet" in (
        response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert not draft.reviews.exists()


def test_an_admin_is_not_offered_a_bypass_of_a_draft(client, draft, carol):
    client.force_login(carol)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert 'value="Publish without approval"' not in page


def test_my_changes_shows_my_drafts(client, draft, alice):
    client.force_login(alice)
    page = client.get("/changes/mine/").content.decode()
    assert f"#{draft.pk} Add hooli" in page
    assert "Draft" in page


def test_alice_submits_her_draft_from_its_page(
    client, draft, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/changes/{draft.pk}/submit/", follow=True)

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.IN_REVIEW
    assert "Your change was submitted for review." in response.content.decode()
    assert AuditEvent.objects.filter(action="change_request.submitted").count() == 1
    assert len(mailoutbox) == 1
    client.force_login(bob)
    assert f"#{draft.pk} " in client.get("/changes/inbox/").content.decode()


def test_bob_cannot_submit_alices_draft_from_the_console(client, draft, bob):
    client.force_login(bob)

    response = client.post(f"/changes/{draft.pk}/submit/", follow=True)

    assert "Only the author can submit a draft for review." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT


def test_editing_a_draft_from_the_console_keeps_it_a_draft(client, draft, alice):
    client.force_login(alice)
    value = copy.deepcopy(draft.value)
    value["companies"][-1]["timezone"] = "Europe/Berlin"

    response = client.post(
        f"/changes/{draft.pk}/edit/",
        {"editor": "raw", "raw": json.dumps(value), "title": "Add hooli (Berlin)"},
        follow=True,
    )

    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert draft.title == "Add hooli (Berlin)"
    assert "Draft saved." in response.content.decode()


def test_the_config_list_does_not_count_a_draft_as_waiting(client, draft, bob):
    client.force_login(bob)
    page = client.get("/configs/").content.decode()
    assert "1 waiting" not in page


def test_a_draft_the_schema_no_longer_accepts_cannot_be_submitted(client, draft, alice):
    schema = draft.config.schema
    body = copy.deepcopy(schema.body)
    body["properties"]["companies"]["maxItems"] = len(newest(draft.config).value["companies"])
    type(schema).objects.filter(pk=schema.pk).update(body=body)
    client.force_login(alice)

    response = client.post(f"/changes/{draft.pk}/submit/", follow=True)

    assert "Edit your draft so it fits the config" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ChangeRequest.Status.DRAFT
    assert not AuditEvent.objects.filter(action="change_request.submitted").exists()


def test_a_change_in_review_counts_as_waiting_on_the_config_list(client, draft, alice, bob):
    services.change_request_submit(change_request=draft, actor=alice)
    client.force_login(bob)
    assert "1 waiting" in client.get("/configs/").content.decode()


def test_the_edit_page_of_a_draft_speaks_of_a_draft(client, timezones, alice):
    draft = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Not ready",
        base_version=1,
        draft=True,
    )
    client.force_login(alice)

    page = client.get(f"/changes/{draft.pk}/edit/").content.decode()

    assert "saving keeps it a draft" in page
    assert 'value="Save draft"' in page
