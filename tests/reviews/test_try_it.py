"""Trying a proposal before approval, and who reads the config, on the console's pages."""

import pytest
from django.utils import timezone

from configs import consumers
from configs.models import Namespace
from configs.selectors import versions_of
from configs.services import token_create
from reviews.services import change_request_approve, change_request_open, change_request_publish
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"


def propose(timezones, alice, **kwargs):
    value = versions_of(timezones).get(number=1).value
    value["companies"][0]["timezone"] = "UTC"
    return change_request_open(
        config=timezones,
        author=alice,
        value=value,
        title="Acme reports in UTC",
        base_version=1,
        **kwargs,
    )


def pipeline_reads(user, name, **query):
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _token, secret = token_create(user=user, name=name, namespaces=namespaces)
    assert client_for(secret).get(CONFIG, query).status_code == 200


def test_change_request_page_shows_how_to_try_the_proposal(client, timezones, alice, bob):
    cr = propose(timezones, alice)
    client.force_login(bob)

    page = client.get(cr.get_absolute_url()).content.decode()

    assert "Try it before approval" in page
    assert f'value="CONFIG_CONSOLE_PREVIEW=data-pipelines/company-timezones={cr.pk}"' in page
    url = f"http://testserver{CONFIG}?change_request={cr.pk}"
    assert f'<a href="{url}" id="try-permalink">' in page
    value_url = f"http://testserver{CONFIG}value/?change_request={cr.pk}"
    assert (
        f"curl -H &quot;Authorization: Bearer $CONFIG_CONSOLE_TOKEN&quot; &quot;{value_url}" in page
    )
    assert (
        f"ConfigClient(previews={{&quot;data-pipelines/company-timezones&quot;: {cr.pk}}})" in page
    )
    assert 'data-copy="#try-env"' in page and 'data-copy="#try-python"' in page
    assert "<script>" not in page


def test_the_permalink_answers_the_preview_to_a_signed_in_person(client, timezones, alice, bob):
    cr = propose(timezones, alice)
    client.force_login(bob)

    response = client.get(f"{CONFIG}?change_request={cr.pk}")

    assert response.json()["change_request"]["id"] == cr.pk


def test_someone_elses_draft_offers_no_preview(client, timezones, alice, bob):
    cr = propose(timezones, alice, draft=True)

    client.force_login(bob)
    theirs = client.get(cr.get_absolute_url()).content.decode()
    client.force_login(alice)
    mine = client.get(cr.get_absolute_url()).content.decode()

    assert "CONFIG_CONSOLE_PREVIEW" not in theirs
    assert "it can be tried once it is submitted" in theirs
    assert "CONFIG_CONSOLE_PREVIEW" in mine
    assert "only you can read your draft" in mine


def test_a_published_change_request_offers_no_preview(client, timezones, alice, bob):
    cr = propose(timezones, alice)
    change_request_approve(change_request=cr, reviewer=bob)
    change_request_publish(change_request=cr, actor=bob)
    client.force_login(bob)

    page = client.get(cr.get_absolute_url()).content.decode()

    assert "Try it before approval" not in page


def test_change_request_page_says_how_many_pipelines_get_the_new_value(
    client, timezones, alice, bob
):
    pipeline_reads(alice, "nightly-load")
    pipeline_reads(bob, "hourly-sync")
    pipeline_reads(bob, "finance-report")
    consumers.flush()
    cr = propose(timezones, alice)
    client.force_login(bob)

    page = client.get(cr.get_absolute_url()).content.decode()

    assert "3 pipelines read this config; they get the new value on their next read." in page


def test_change_request_page_names_pipelines_that_keep_a_pinned_version(
    client, timezones, alice, bob
):
    first = propose(timezones, alice)
    change_request_approve(change_request=first, reviewer=bob)
    change_request_publish(change_request=first, actor=bob)
    pipeline_reads(alice, "nightly-load")
    pipeline_reads(bob, "finance-report", version=1)
    consumers.flush()
    value = versions_of(timezones).get(number=2).value
    value["companies"][0]["timezone"] = "Europe/Berlin"
    cr = change_request_open(
        config=timezones, author=alice, value=value, title="Paris", base_version=2
    )
    client.force_login(bob)

    page = client.get(cr.get_absolute_url()).content.decode()

    assert "2 pipelines read this config; 1 gets the new value on the next read" in page
    assert "1 reads an older pinned version and keeps it: finance-report (bob, v1)." in page


def test_config_page_lists_who_reads_it_and_flags_an_old_pin(
    client, timezones, alice, bob, dave, time_machine
):
    first = propose(timezones, alice)
    change_request_approve(change_request=first, reviewer=bob)
    change_request_publish(change_request=first, actor=bob)
    time_machine.move_to(timezone.now() + timezone.timedelta(days=2))
    pipeline_reads(alice, "nightly-load")
    pipeline_reads(bob, "finance-report", version=1)
    consumers.flush()
    client.force_login(dave)

    page = client.get(timezones.get_absolute_url()).content.decode()

    section = page[page.index('id="read-by"') :]
    assert section.index("finance-report") < section.index("nightly-load")  # newest first
    assert "<td>alice</td>" in section and "<td>bob</td>" in section
    assert "older than live v2 for over a day" in section
    assert section.count("for over a day") == 1


def test_config_page_says_when_nobody_reads_it_yet(client, timezones, dave):
    client.force_login(dave)

    page = client.get(timezones.get_absolute_url()).content.decode()

    assert "No pipeline has read this config with an API token yet." in page


def test_readers_are_those_of_the_environment_shown(client, timezones, alice, bob, dave):
    # Each token reads one environment: a staging change reaches staging's pipelines only.
    from configs import environments
    from configs.selectors import newest_version

    staging = environments.named("staging")
    pipeline_reads(alice, "nightly-load")
    pipeline_reads(bob, "hourly-sync")
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _token, secret = token_create(
        user=bob, name="staging-check", namespaces=namespaces, environment=staging
    )
    assert client_for(secret).get(CONFIG).status_code == 200
    consumers.flush()
    value = newest_version(timezones, staging).value
    value["companies"][0]["timezone"] = "UTC"
    cr = change_request_open(
        config=timezones,
        author=alice,
        value=value,
        title="UTC in staging",
        base_version=newest_version(timezones, staging).number,
        environment=staging,
    )
    client.force_login(dave)

    change_page = client.get(cr.get_absolute_url()).content.decode()
    config_page = client.get(timezones.get_absolute_url() + "?environment=staging").content.decode()

    assert "1 pipeline reads this config; it gets the new value on its next read." in change_page
    section = config_page[config_page.index('id="read-by"') :]
    assert "staging-check" in section
    assert "nightly-load" not in section and "hourly-sync" not in section
