"""The review gate through the console: every action × every persona, and the rules as people
meet them."""

import json

import pytest
from django.core import mail

from configs.selectors import versions_of
from reviews.models import ChangeRequest
from reviews.services import change_request_approve, change_request_open

ROLES = ["alice", "bob", "carol", "dave", "erin"]


@pytest.fixture
def proposal(timezones, alice):
    """alice's open change request to data-pipelines/company-timezones (needs one approval)."""
    value = versions_of(timezones).get(number=1).value
    value["companies"][0]["timezone"] = "UTC"
    return change_request_open(
        config=timezones, author=alice, value=value, title="Acme reports in UTC", base_version=1
    )


@pytest.fixture
def people(alice, bob, carol, dave, erin):
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}


# What each persona may do on alice's change request: alice is the author (editor), bob a
# reviewer, carol an admin, dave a viewer, erin has no role in the namespace.
MATRIX = {
    "view": {"alice": 200, "bob": 200, "carol": 200, "dave": 200, "erin": 404},
    "approve": {"alice": "refused", "bob": "done", "carol": "done", "dave": "refused", "erin": 404},
    "request-changes": {
        "alice": "refused",
        "bob": "done",
        "carol": "done",
        "dave": "refused",
        "erin": 404,
    },
    "comment": {"alice": "done", "bob": "done", "carol": "done", "dave": "done", "erin": 404},
    "publish": {
        "alice": "refused",
        "bob": "refused",
        "carol": "refused",
        "dave": "refused",
        "erin": 404,
    },
    "bypass": {
        "alice": "refused",
        "bob": "refused",
        "carol": "done",
        "dave": "refused",
        "erin": 404,
    },
    "withdraw": {
        "alice": "done",
        "bob": "refused",
        "carol": "refused",
        "dave": "refused",
        "erin": 404,
    },
    "reject": {"alice": "refused", "bob": "done", "carol": "done", "dave": "refused", "erin": 404},
}

POST_DATA = {
    "approve": {"comment": "Looks right"},
    "request-changes": {"comment": "Use Europe/London"},
    "comment": {"comment": "What about initech?"},
    "publish": {},
    "bypass": {"bypass_reason": "Incident 42: the metrics job is failing"},
    "withdraw": {},
    "reject": {"comment": "Not needed"},
}

# How a done action shows in the data.
EFFECT = {
    "approve": lambda cr: cr.reviews.filter(verdict="approve").exists(),
    "request-changes": lambda cr: cr.status == "changes_requested",
    "comment": lambda cr: cr.comments.exists(),
    "publish": lambda cr: cr.status == "published",
    "bypass": lambda cr: cr.status == "published" and cr.published_version.bypass_reason != "",
    "withdraw": lambda cr: cr.status == "withdrawn",
    "reject": lambda cr: cr.status == "rejected",
}


@pytest.mark.parametrize("who", ROLES)
def test_viewing_a_change_request(client, proposal, people, who):
    client.force_login(people[who])
    assert client.get(proposal.get_absolute_url()).status_code == MATRIX["view"][who]


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("action", [a for a in MATRIX if a != "view"])
def test_permission_matrix(client, proposal, people, action, who):
    client.force_login(people[who])
    response = client.post(f"/changes/{proposal.pk}/{action}/", POST_DATA[action])
    expected = MATRIX[action][who]
    if expected == 404:
        assert response.status_code == 404
        return
    assert response.status_code in (302, 403)
    proposal.refresh_from_db()
    assert EFFECT[action](proposal) is (expected == "done")


@pytest.mark.parametrize(
    ("who", "offered"),
    [
        ("alice", {"Edit my proposal", "Withdraw"}),
        ("bob", {"Approve", "Request changes", "Reject"}),
        ("carol", {"Approve", "Request changes", "Reject", "Publish without approval"}),
        ("dave", set()),
    ],
)
def test_only_the_actions_a_person_may_take_are_offered(client, proposal, people, who, offered):
    client.force_login(people[who])
    page = client.get(proposal.get_absolute_url()).content.decode()
    every = {
        "Edit my proposal",
        "Withdraw",
        "Approve",
        "Request changes",
        "Reject",
        "Publish without approval",
        "Publish version 2",
    }
    shown = {label for label in every if f'value="{label}"' in page or f">{label}<" in page}
    assert shown == offered


def test_the_change_is_described_in_words_from_schema_titles(client, proposal, bob):
    client.force_login(bob)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Companies → acme → Timezone: America/Los_Angeles → UTC" in page


def test_reviewer_approves_then_publishes_and_the_author_is_told(
    client, proposal, bob, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/changes/{proposal.pk}/approve/", {"comment": "ok"})
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Publish version 2" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/changes/{proposal.pk}/publish/", {})
    assert response.url == proposal.config.get_absolute_url()
    proposal.refresh_from_db()
    assert proposal.published_version.number == 2
    config_page = client.get(response.url).content.decode()
    assert "approved by bob" in config_page
    assert any("Published" in m.subject and m.to == ["alice@example.com"] for m in mail.outbox)


def test_publishing_without_enough_approvals_says_what_is_missing(client, proposal, carol):
    client.force_login(carol)
    response = client.post(f"/changes/{proposal.pk}/publish/", {}, follow=True)
    assert "it needs 1 more approval" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.IN_REVIEW


def test_an_edit_by_the_author_dismisses_approvals_in_the_console(client, proposal, alice, bob):
    change_request_approve(change_request=proposal, reviewer=bob)
    client.force_login(alice)
    value = dict(proposal.value)
    value["companies"] = [*value["companies"][:1], *value["companies"][2:]]
    response = client.post(
        f"/changes/{proposal.pk}/edit/",
        {
            "editor": "raw",
            "raw": json.dumps(value),
            "title": "Acme in UTC, drop globex",
        },
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.IN_REVIEW
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "Needs 1 more approval" in page
    assert "dismissed" in page


def test_a_conflicted_change_shows_theirs_and_can_be_rebased(
    client, proposal, timezones, alice, bob
):
    other = versions_of(timezones).get(number=1).value
    other["companies"][2]["timezone"] = "Asia/Singapore"
    rival = change_request_open(
        config=timezones, author=bob, value=other, title="Initech moved", base_version=1
    )
    from reviews.services import change_request_publish

    change_request_approve(
        change_request=rival,
        reviewer=timezones.namespace.memberships.get(user__username="carol").user,
    )
    change_request_publish(change_request=rival, actor=bob)
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.CONFLICTED
    client.force_login(alice)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "moved on to version 2" in page
    assert "Companies → initech → Timezone: Asia/Tokyo → Asia/Singapore" in page
    merged = dict(other)
    merged["companies"][0]["timezone"] = "UTC"
    response = client.post(
        f"/changes/{proposal.pk}/rebase/",
        {
            "editor": "raw",
            "raw": json.dumps(merged),
            "title": proposal.title,
        },
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.IN_REVIEW
    assert proposal.base_version.number == 2


def test_inbox_and_dashboard_show_what_waits_for_me(client, proposal, bob, alice):
    client.force_login(bob)
    assert "Acme reports in UTC" in client.get("/changes/inbox/").content.decode()
    assert "Acme reports in UTC" in client.get("/").content.decode()
    client.force_login(alice)
    assert "No change requests waiting for you." in client.get("/changes/inbox/").content.decode()
    assert "Acme reports in UTC" in client.get("/changes/mine/").content.decode()


def test_cancel_a_scheduled_version_from_the_config_page(client, proposal, bob):
    from datetime import timedelta

    from django.utils import timezone

    from reviews.services import change_request_publish

    change_request_approve(change_request=proposal, reviewer=bob)
    version = change_request_publish(
        change_request=proposal, actor=bob, effective_at=timezone.now() + timedelta(hours=3)
    )
    client.force_login(bob)
    page = client.get(proposal.config.get_absolute_url()).content.decode()
    assert "Scheduled: <strong>v2</strong>" in page and "Cancel v2" in page
    client.post(f"/configs/data-pipelines/company-timezones/versions/{version.number}/cancel/")
    version.refresh_from_db()
    assert version.cancelled_at is not None


@pytest.mark.parametrize(
    ("who", "published"),
    [("alice", False), ("bob", True), ("carol", True), ("dave", False), ("erin", False)],
)
def test_who_may_publish_an_approved_change(client, proposal, people, who, published):
    """Reviewers and admins publish; the author (an editor) and a viewer may not."""
    change_request_approve(change_request=proposal, reviewer=people["bob"])
    client.force_login(people[who])
    response = client.post(f"/changes/{proposal.pk}/publish/", {})
    assert response.status_code == (404 if who == "erin" else 302)
    proposal.refresh_from_db()
    assert (proposal.status == "published") is published


def test_an_approval_of_a_proposal_that_changed_since_the_page_was_opened_is_refused(
    client, proposal, alice, bob
):
    client.force_login(bob)
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert 'name="revision" value="1"' in page
    from reviews.services import change_request_edit

    value = dict(proposal.value)
    value["companies"] = value["companies"][:2]
    change_request_edit(change_request=proposal, actor=alice, value=value)
    response = client.post(f"/changes/{proposal.pk}/approve/", {"revision": "1"}, follow=True)
    assert "The proposal changed since you opened it" in response.content.decode()
    assert not proposal.reviews.exists()


def test_asking_for_changes_on_a_proposal_that_changed_since_is_refused_too(
    client, proposal, alice, bob
):
    from reviews.services import change_request_edit

    client.force_login(bob)
    value = dict(proposal.value)
    value["companies"] = value["companies"][:2]
    change_request_edit(change_request=proposal, actor=alice, value=value)

    response = client.post(
        f"/changes/{proposal.pk}/request-changes/",
        {"revision": "1", "comment": "Use Europe/London"},
        follow=True,
    )

    assert "The proposal changed since you opened it" in response.content.decode()
    assert not proposal.reviews.exists()


@pytest.mark.parametrize("revision", ["²", "١", "99999999999999999999"])
def test_an_odd_revision_number_is_ignored_not_a_crash(client, proposal, bob, revision):
    client.force_login(bob)

    response = client.post(f"/changes/{proposal.pk}/approve/", {"revision": revision})

    assert response.status_code == 302
    assert proposal.reviews.count() == 1


def test_a_reviewer_who_requested_changes_blocks_publishing_in_the_console(
    client, proposal, bob, carol
):
    client.force_login(bob)
    client.post(f"/changes/{proposal.pk}/request-changes/", {"comment": "Use Europe/London"})
    client.force_login(carol)
    client.post(f"/changes/{proposal.pk}/approve/", {"comment": "fine by me"})
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "bob to approve (they requested changes)" in page
    assert 'value="Publish version 2"' not in page
    response = client.post(f"/changes/{proposal.pk}/publish/", {}, follow=True)
    assert "bob to approve (they requested changes)" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.CHANGES_REQUESTED


def test_a_config_that_requires_an_owner_shows_it_and_waits_for_one(client, proposal, carol, bob):
    config = proposal.config
    config.owner_approval_required = True
    config.save()
    config.owners.set([bob])
    client.force_login(carol)
    client.post(f"/changes/{proposal.pk}/approve/", {"comment": "ok"})
    page = client.get(proposal.get_absolute_url()).content.decode()
    assert "an approval from one of the config&#x27;s owners" in page
    client.force_login(bob)
    client.post(f"/changes/{proposal.pk}/approve/", {"comment": "owner ok"})
    proposal.refresh_from_db()
    assert proposal.status == ChangeRequest.Status.APPROVED


@pytest.mark.parametrize(
    ("effective_at", "tz_offset"),
    [("9999-12-31T23:59", "60"), ("2030-01-01T09:00", "²"), ("2030-01-01T09:00", "9" * 30)],
)
def test_odd_publish_times_get_a_message_not_a_crash(
    client, proposal, bob, carol, effective_at, tz_offset
):
    from reviews.services import change_request_approve

    change_request_approve(change_request=proposal, reviewer=carol)
    client.force_login(bob)

    response = client.post(
        f"/changes/{proposal.pk}/publish/",
        {"effective_at": effective_at, "tz_offset": tz_offset},
        follow=True,
    )

    assert response.status_code == 200
