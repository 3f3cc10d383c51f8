"""The console's drift page and "Promote to <environment>": on a namespace's page for all or
chosen configs, and on a config's page for that one."""

import pytest

from configs import environments
from configs.selectors import newest_version
from reviews.models import ChangeRequest

pytestmark = pytest.mark.django_db

DRIFT = "/namespaces/data-pipelines/drift/"
PROMOTE = "/namespaces/data-pipelines/promote/"
CONFIG_PAGE = "/configs/data-pipelines/company-timezones/"


def test_the_drift_page_shows_staging_against_production_in_words(client, alice):
    client.force_login(alice)

    page = client.get(DRIFT).content.decode()

    assert "Differences between Staging and production" in page
    assert "Company timezones" in page
    assert "Companies: added umbrella (Europe/London)" in page
    assert 'value="Promote to production"' in page
    assert 'name="keys" value="company-timezones"' in page


def test_the_drift_page_says_when_two_environments_match(client, alice):
    client.force_login(alice)

    page = client.get(DRIFT, {"from": "development", "to": "production"}).content.decode()

    assert "Development and production match" in page
    assert "Promote to" not in page


def test_viewers_see_the_differences_but_are_not_offered_promotion(client, dave):
    client.force_login(dave)

    page = client.get(DRIFT).content.decode()

    assert "Companies: added umbrella (Europe/London)" in page
    assert "Promote to production" not in page


def test_backwards_is_shown_but_not_offered(client, alice):
    client.force_login(alice)

    page = client.get(DRIFT, {"from": "production", "to": "staging"}).content.decode()

    assert "Promotion goes forwards only" in page
    assert "Promote to staging" not in page


@pytest.mark.parametrize("url", [DRIFT, "/namespaces/no-such-thing/drift/"])
def test_outsiders_get_404(client, erin, url):
    client.force_login(erin)

    assert client.get(url).status_code == 404


def test_an_unknown_environment_is_404(client, alice):
    client.force_login(alice)

    assert client.get(DRIFT, {"from": "moon"}).status_code == 404


def test_promoting_the_chosen_configs_opens_a_change_request(client, alice, timezones):
    client.force_login(alice)

    response = client.post(
        PROMOTE,
        {
            "from": "staging",
            "to": "production",
            "keys": ["company-timezones"],
            "title": "Umbrella goes live",
        },
    )

    cr = ChangeRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == cr.get_absolute_url()
    assert cr.title == "Umbrella goes live"
    [change] = cr.change_list
    assert change.env == environments.named("production")
    assert change.value == newest_version(timezones, environments.named("staging")).value
    page = client.get(response["Location"]).content.decode()
    assert f"Change request #{cr.pk} promotes Staging&#x27;s values to Production" in page


def test_a_refused_promotion_comes_back_with_the_reason(client, alice):
    client.force_login(alice)

    response = client.post(
        PROMOTE,
        {"from": "development", "to": "production", "title": "Nothing", "next": DRIFT},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == DRIFT
    assert "Nothing would change" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_viewers_cannot_promote(client, dave):
    client.force_login(dave)

    response = client.post(PROMOTE, {"from": "staging", "to": "production"}, follow=True)

    assert "editor role in data-pipelines" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_a_configs_page_offers_to_promote_it_to_the_next_environment(client, alice):
    client.force_login(alice)

    page = client.get(CONFIG_PAGE).content.decode()

    assert "Promote to production" in page
    assert "Staging (v2) differs from production (v1): Companies: added umbrella" in page
    # Development never had Umbrella: promoting it would take Umbrella out of staging.
    assert "Development (v1) differs from staging (v2): Companies: removed umbrella" in page


def test_a_config_that_matches_everywhere_offers_no_promotion(client, alice):
    client.force_login(alice)

    page = client.get("/configs/data-pipelines/warehouse-connections/").content.decode()

    assert 'id="promote"' not in page


def test_a_viewer_is_not_offered_promotion_on_a_configs_page(client, dave):
    client.force_login(dave)

    assert 'id="promote"' not in client.get(CONFIG_PAGE).content.decode()


def test_the_config_list_of_a_namespace_links_to_its_differences(client, alice):
    client.force_login(alice)

    page = client.get("/configs/", {"namespace": "data-pipelines"}).content.decode()

    assert f'href="{DRIFT}"' in page


def test_a_promotion_title_too_long_is_refused_in_words(client, alice):
    client.force_login(alice)

    response = client.post(
        PROMOTE,
        {"from": "staging", "to": "production", "keys": "company-timezones", "title": "x" * 201},
        follow=True,
    )

    assert response.status_code == 200
    assert "at most 200 characters" in response.content.decode()
    assert not ChangeRequest.objects.filter(title__startswith="xxx").exists()
