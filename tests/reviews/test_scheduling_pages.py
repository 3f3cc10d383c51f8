"""The publish and bypass forms when a scheduled version stands in the way."""

import copy
from datetime import UTC, datetime

import pytest

from configs.selectors import newest_version as newest
from reviews import services
from reviews.models import ChangeRequest

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 3, 6, 9, 0, tzinfo=UTC)  # a Thursday
MONDAY = datetime(2031, 3, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine, demo):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def open_change(config, author, company_id):
    value = copy.deepcopy(newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    return services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Add {company_id}",
        base_version=newest(config).number,
    )


@pytest.fixture
def monday_version(clock, timezones, alice, bob):
    scheduled = open_change(timezones, alice, "hooli")
    services.change_request_approve(change_request=scheduled, reviewer=bob)
    return services.change_request_publish(change_request=scheduled, actor=bob, effective_at=MONDAY)


def test_the_bypass_form_offers_the_earliest_allowed_time(
    client, monday_version, timezones, alice, carol
):
    waiting = open_change(timezones, alice, "umbrella")
    client.force_login(carol)

    page = client.get(waiting.get_absolute_url()).content.decode()

    assert "Version 2 is scheduled for <time" in page
    assert "Mon 10 Mar 2031, 00:00 UTC" in page
    assert 'id="bypass-effective-at" name="effective_at"' in page
    assert 'value="2031-03-10 00:00"' in page


def test_a_refused_bypass_keeps_the_reason_and_the_time_typed(
    client, monday_version, timezones, alice, carol
):
    waiting = open_change(timezones, alice, "umbrella")
    client.force_login(carol)

    response = client.post(
        f"/changes/{waiting.pk}/bypass/",
        {"bypass_reason": "Umbrella signs today", "effective_at": "2031-03-07 12:00"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Version 2 is scheduled for Mon 10 Mar 2031, 00:00 UTC" in page
    assert 'value="Umbrella signs today"' in page
    assert 'value="2031-03-07 12:00"' in page
    waiting.refresh_from_db()
    assert waiting.status == ChangeRequest.Status.IN_REVIEW


def test_a_bypass_at_the_offered_time_is_scheduled(client, monday_version, timezones, alice, carol):
    waiting = open_change(timezones, alice, "umbrella")
    client.force_login(carol)

    client.post(
        f"/changes/{waiting.pk}/bypass/",
        {"bypass_reason": "Umbrella signs today", "effective_at": "2031-03-10 00:00"},
    )

    version = newest(timezones)
    assert version.number == 3
    assert version.effective_at == MONDAY
    assert version.bypass_reason == "Umbrella signs today"


def test_the_config_page_shows_a_scheduled_change_once_with_its_time_in_words(
    client, monday_version, dave
):
    client.force_login(dave)

    page = client.get(monday_version.config.get_absolute_url()).content.decode()

    assert page.count("Mon 10 Mar 2031, 00:00 UTC") == 2  # the notice and the versions table
    assert "(in 3 days)" in page
    assert page.count('class="scheduled"') == 1
