"""An approved change stays in sight of the reviewer who can publish it and of its author,
under "Approved, ready to publish", until it is published (issue 28, item 1)."""

import pytest

from configs.models import Config
from configs.selectors import newest_version
from reviews.services import (
    change_request_approve,
    change_request_open,
    change_request_publish,
)

READY = "Approved, ready to publish"


@pytest.fixture
def approved(alice, bob):
    config = Config.objects.get(key="company-timezones")
    value = newest_version(config).value
    value["companies"][1]["timezone"] = "Asia/Tokyo"
    change = change_request_open(
        config=config, author=alice, value=value, title="Globex to Tokyo", base_version=1
    )
    change_request_approve(change_request=change, reviewer=bob)
    change.refresh_from_db()
    assert change.status == "approved"
    return change


def ready_section(page: str) -> str:
    assert READY in page
    return page.split(READY, 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(
    "who, url",
    [
        ("bob", "/"),
        ("bob", "/changes/inbox/"),
        ("carol", "/"),
        ("alice", "/"),
        ("alice", "/changes/mine/"),
    ],
)
def test_an_approved_change_is_listed_as_ready_to_publish(client, approved, who, url, demo):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=who))
    page = client.get(url).content.decode()
    assert f"#{approved.pk} Globex to Tokyo" in ready_section(page)


def test_bobs_review_queue_no_longer_holds_it_but_his_ready_list_does(client, approved, bob):
    client.force_login(bob)
    page = client.get("/changes/inbox/").content.decode()
    waiting = page.split("Waiting for my review", 1)[1].split("</section>", 1)[0]
    assert "Globex to Tokyo" not in waiting
    assert "Globex to Tokyo" in ready_section(page)


def test_a_viewer_is_not_shown_changes_to_publish(client, approved, dave):
    client.force_login(dave)
    assert READY not in client.get("/").content.decode()


def test_once_published_it_leaves_the_ready_lists(client, approved, bob):
    change_request_publish(change_request=approved, actor=bob)
    client.force_login(bob)
    assert READY not in client.get("/").content.decode()
    page = client.get("/changes/inbox/").content.decode()
    assert "Nothing approved is waiting to be published." in page
