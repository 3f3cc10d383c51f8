"""Landing, navigation, refusals and empty states: what each persona sees first."""

import pytest

from configs.selectors import versions_of
from reviews.services import change_request_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(timezones, alice):
    value = versions_of(timezones).get(number=1).value
    value["companies"][0]["timezone"] = "UTC"
    return change_request_open(
        config=timezones, author=alice, value=value, title="Acme reports in UTC", base_version=1
    )


def test_logging_in_lands_on_the_dashboard(client, demo):
    response = client.post("/accounts/login/", {"username": "bob", "password": demo["bob"]})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_navigation_counts_the_changes_waiting_for_me(client, proposal, bob, alice):
    client.force_login(bob)
    page = client.get("/configs/").content.decode()
    assert '<span class="count" id="nav-waiting">1</span>' in page
    assert "waiting for you" in page

    client.force_login(alice)  # the author reviews nothing of her own
    assert 'id="nav-waiting"' not in client.get("/configs/").content.decode()


def test_approve_is_not_offered_again_after_approving(client, proposal, bob):
    client.force_login(bob)

    client.post(f"/changes/{proposal.pk}/approve/", {"revision": proposal.revision})
    page = client.get(proposal.get_absolute_url()).content.decode()

    assert 'value="Approve"' not in page
    assert "You approved this proposal as it stands" in page
    assert 'value="Request changes"' in page


def test_a_viewer_opening_an_edit_page_gets_the_reason_in_the_consoles_look(
    client, dave, timezones
):
    client.force_login(dave)

    response = client.get("/configs/data-pipelines/company-timezones/edit/")

    page = response.content.decode()
    assert response.status_code == 403
    assert "Config Console" in page and 'class="console-nav"' in page
    assert "You need the editor role in data-pipelines to" in page
    assert 'href="/"' in page  # a way back


def test_an_unknown_page_is_a_404_in_the_consoles_look(client, dave):
    client.force_login(dave)

    response = client.get("/configs/data-pipelines/no-such-config/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here" in page and 'class="console-nav"' in page
    assert "Go to the dashboard" in page


def test_an_unknown_api_address_still_answers_json(client, dave):
    client.force_login(dave)

    response = client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("who", "shown", "not_shown"),
    [
        ("dave", "proposing changes needs the editor role", "My open changes"),
        ("alice", "My open changes", "Waiting for my review"),
        ("bob", "Waiting for my review", "proposing changes needs the editor role"),
    ],
)
def test_the_dashboard_fits_the_persons_role(client, demo, who, shown, not_shown):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=who))

    page = client.get("/").content.decode()

    assert shown in page
    assert not_shown not in page
    assert "Find a config</a> to change" not in page


def test_someone_without_any_namespace_is_told_to_ask_for_access(client, erin):
    client.force_login(erin)

    assert "not a member of any namespace yet" in client.get("/").content.decode()
