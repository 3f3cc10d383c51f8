"""A schema change in the console, as people meet it: its number leads to it from any change
request address, its author finds it under "My changes", and an admin of every namespace whose
configs change may bypass review with a reason, as for a config."""

from datetime import timedelta

import pytest
from django.utils import timezone

from configs import environments, selectors, times
from reviews import services
from tests.api.test_schema_change_addresses import open_change, owner_team
from tests.values import with_company


def test_a_schema_change_is_at_the_change_request_address_and_its_old_address_leads_there(
    client, carol, bob, timezones
):
    change = open_change(timezones, carol)
    client.force_login(bob)

    page = client.get(f"/changes/{change.pk}/")

    assert page.status_code == 200
    assert "Every company has an owner team" in page.content.decode()
    old = client.get(f"/schema-changes/{change.pk}/")
    assert (old.status_code, old["Location"]) == (301, f"/changes/{change.pk}/")
    old_edit = client.get(f"/schema-changes/{change.pk}/edit/")
    assert (old_edit.status_code, old_edit["Location"]) == (301, f"/changes/{change.pk}/edit/")
    assert client.get(f"/changes/{change.pk + 100}/").status_code == 404


def test_my_changes_lists_my_schema_changes_open_ones_first(client, carol, timezones):
    withdrawn = open_change(timezones, carol)
    services.change_request_withdraw(change_request=withdrawn, actor=carol)
    open_one = open_change(timezones, carol)
    client.force_login(carol)

    page = client.get("/changes/mine/").content.decode()

    # One list for every kind: no separate section for schema changes.
    assert "My schema changes" not in page
    first, second = (
        page.index(f"/changes/{open_one.pk}/"),
        page.index(f"/changes/{withdrawn.pk}/"),
    )
    assert first < second


def test_someone_with_no_schema_change_sees_no_such_section(client, alice, timezones):
    client.force_login(alice)

    page = client.get("/changes/mine/").content.decode()

    assert "My schema changes" not in page
    assert "You have not proposed any change yet." in page


def test_an_admin_bypasses_review_of_a_schema_change_with_a_reason(client, carol, timezones):
    change = open_change(timezones, carol)
    client.force_login(carol)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "Publish without approval" in page

    client.post(f"/changes/{change.pk}/bypass/", {"bypass_reason": "Dashboards are down"})

    live = selectors.live_version(timezones)
    assert (live.number, live.bypass_reason) == (2, "Dashboards are down")
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "bypass: Dashboards are down" in page


def test_a_reviewer_is_not_offered_a_bypass(client, carol, bob, timezones):
    change = open_change(timezones, carol)
    client.force_login(bob)

    page = client.get(f"/changes/{change.pk}/").content.decode()

    assert "Publish without approval" not in page
    client.post(f"/changes/{change.pk}/bypass/", {"bypass_reason": "Because"})
    assert selectors.live_version(timezones).number == 1


def test_a_refused_bypass_keeps_what_was_typed(client, carol, timezones):
    change = open_change(timezones, carol)
    client.force_login(carol)

    page = client.post(
        f"/changes/{change.pk}/bypass/",
        {"bypass_reason": "Dashboards are down", "effective_at": "next tuesday"},
    ).content.decode()

    assert "Take effect at: enter a date and time" in page
    assert 'value="Dashboards are down"' in page
    assert 'value="next tuesday"' in page
    assert selectors.live_version(timezones).number == 1


def test_a_schema_change_is_scheduled_at_a_time_typed_in_the_page_zone(
    client, carol, bob, timezones
):
    change = open_change(timezones, carol)
    client.force_login(bob)
    client.post(f"/changes/{change.pk}/approve/")
    later = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    client.post(f"/changes/{change.pk}/publish/", {"effective_at": times.typed(later)})

    change.refresh_from_db()
    assert change.status == "published"
    item = change.changes.filter(
        config__isnull=False, environment_id=environments.default().id
    ).get()
    assert item.published_version.effective_at == later


def test_an_approval_already_given_is_not_offered_again(client, carol, bob, timezones):
    change = open_change(timezones, carol)
    client.force_login(bob)
    assert (
        "Approve the schema and all values"
        in client.get(change.get_absolute_url()).content.decode()
    )

    client.post(f"/changes/{change.pk}/approve/")

    page = client.get(change.get_absolute_url()).content.decode()
    assert "Approve the schema and all values" not in page
    assert "You approved this proposal as it stands." in page
    assert "Request changes" in page


@pytest.mark.parametrize("kind", ["schema", "config"])
def test_an_approval_from_a_page_seen_before_an_edit_is_refused_for_every_kind(
    client, alice, bob, carol, timezones, kind
):
    if kind == "schema":
        change = open_change(timezones, carol)
        author = carol
        edit = {"body": owner_team(timezones.schema.body, default="ops")}
    else:
        author = alice
        change = services.change_request_open(
            config=timezones,
            author=alice,
            value=with_company(timezones, "globex"),
            title="Add Globex",
            base_version=1,
        )
        edit = {"value": with_company(timezones, "initech")}
    client.force_login(bob)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert 'name="revision" value="1"' in page

    services.change_request_edit(change_request=change, actor=author, **edit)
    answer = client.post(f"/changes/{change.pk}/approve/", {"revision": "1"}, follow=True)

    assert "changed since you opened it" in answer.content.decode()
    change.refresh_from_db()
    assert change.status == "in_review"
    assert not change.reviews.filter(reviewer=bob, dismissed_at__isnull=True).exists()
