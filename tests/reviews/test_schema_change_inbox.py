"""Schema changes reach the people who can approve them: in their reviews and on their dashboard,
and by email; their authors hear of each verdict and of the publish."""

import pytest

from configs import selectors, services
from configs.models import Membership, Namespace, Role
from reviews import selectors as review_selectors
from reviews import services as review_services
from tests.reviews.test_schema_changes import items, open_change

pytestmark = pytest.mark.django_db


def recipients(mailoutbox):
    return [sorted(message.to) for message in mailoutbox]


def test_a_reviewer_finds_a_schema_change_in_their_reviews_until_they_approve_it(
    client, carol, bob, timezones
):
    change = open_change(timezones, carol)
    client.force_login(bob)

    for path in ("/changes/inbox/", "/"):
        page = client.get(path).content.decode()
        # One inbox for every kind: no section of its own.
        assert "Waiting for my review" in page
        assert "Schema changes waiting" not in page
        assert change.get_absolute_url() in page
        assert "Every company has an owner team" in page

    review_services.change_request_approve(change_request=change, reviewer=bob)

    # Approved, it leaves the reviews waiting for bob and waits to be published, as any
    # change request does.
    inbox = dict(
        (title, rows) for title, rows, _empty in client.get("/changes/inbox/").context["sections"]
    )
    assert change not in list(inbox["Waiting for my review"])
    dashboard = client.get("/").context
    assert change not in dashboard["waiting"]
    assert change in dashboard["ready"]


def test_its_author_and_people_who_cannot_approve_it_do_not_find_it(
    client, carol, alice, timezones
):
    change = open_change(timezones, carol)

    for person in (carol, alice):  # its author; an editor
        client.force_login(person)
        assert change.get_absolute_url() not in client.get("/changes/inbox/").content.decode()
        assert change not in client.get("/").context["waiting"]
    # Its author finds it among her own open changes, as any change request of hers.
    client.force_login(carol)
    assert list(client.get("/").context["mine"]) == [change]
    client.force_login(alice)
    assert change.get_absolute_url() not in client.get("/").content.decode()


def test_a_reviewer_of_only_some_affected_namespaces_is_not_asked(
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
    frank = django_user_model.objects.create_user("frank", email="frank@example.com")
    Membership.objects.create(user=frank, namespace=timezones.namespace, role=Role.REVIEWER)
    root = django_user_model.objects.create_superuser("root", email="root@example.com")
    change = open_change(timezones, carol)
    assert items(change).count() == 2

    assert list(review_selectors.waiting_for(frank)) == []
    assert list(review_selectors.waiting_for(bob)) == [change]
    assert list(review_selectors.waiting_for(root)) == [change]


def test_reviewers_of_every_affected_namespace_are_emailed_when_it_opens(
    carol, timezones, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        change = open_change(timezones, carol)

    assert recipients(mailoutbox) == [["bob@example.com"]]
    assert mailoutbox[0].subject == (
        "[Config Console] Review requested: schema company-timezones — "
        "Every company has an owner team"
    )
    assert change.get_absolute_url() in mailoutbox[0].body


def test_the_author_is_emailed_on_approval_and_on_publish(
    carol, bob, timezones, django_capture_on_commit_callbacks, mailoutbox
):
    change = open_change(timezones, carol)

    with django_capture_on_commit_callbacks(execute=True):
        review_services.change_request_approve(change_request=change, reviewer=bob, comment="Fine")
    with django_capture_on_commit_callbacks(execute=True):
        review_services.change_request_publish(change_request=change, actor=bob)

    assert recipients(mailoutbox) == [["carol@example.com"], ["carol@example.com"]]
    approved, published = mailoutbox
    assert approved.subject == (
        "[Config Console] bob approved your change to schema company-timezones"
    )
    assert "Fine" in approved.body
    assert published.subject == "[Config Console] Published: schema company-timezones version 2"
    assert "1 config(s)" in published.body


def test_the_navigation_counts_schema_changes_waiting_for_me(client, carol, bob, timezones):
    client.force_login(bob)
    before = client.get("/configs/").context["nav_waiting_count"]()

    open_change(timezones, carol)

    assert client.get("/configs/").context["nav_waiting_count"]() == before + 1
