"""The edit page warns before it bites: open changes, and a scheduled version in the way."""

import copy
import json
from datetime import UTC, datetime

import pytest

from configs.models import Config
from configs.selectors import newest_version
from reviews.services import change_request_open, change_request_publish

pytestmark = pytest.mark.django_db

EDIT = "/configs/data-pipelines/company-timezones/edit/"
METRICS_EDIT = "/configs/sales-ops/custom-metrics/edit/"
NOW = datetime(2031, 3, 6, 9, 0, tzinfo=UTC)
MONDAY = datetime(2031, 3, 10, 0, 0, tzinfo=UTC)


def with_company(config, company_id):
    value = copy.deepcopy(newest_version(config).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    return value


def test_the_editor_is_told_she_already_has_a_change_open(client, timezones, alice):
    mine = change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )
    client.force_login(alice)

    page = client.get(EDIT).content.decode()

    assert f'You already have <a href="/changes/{mine.pk}/">change #{mine.pk}</a> open' in page
    assert "other change" not in page


def test_anyone_is_told_how_many_other_changes_are_open(client, timezones, alice, bob):
    change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )
    client.force_login(bob)

    page = client.get(EDIT).content.decode()

    assert "1 other change by other people is open on it" in page
    assert "You already have" not in page


def test_publishing_at_once_offers_the_time_after_a_scheduled_version(
    client, time_machine, metrics, alice, bob
):
    time_machine.move_to(NOW, tick=False)
    value = copy.deepcopy(newest_version(metrics).value)
    value["metrics"][0]["description"] = "Scheduled wording"
    scheduled = change_request_open(
        config=metrics, author=bob, value=value, title="Reword", base_version=1
    )
    change_request_publish(change_request=scheduled, actor=bob, effective_at=MONDAY)
    client.force_login(alice)

    page = client.get(METRICS_EDIT).content.decode()
    value["metrics"][0]["description"] = "Later wording"
    form = {
        "editor": "raw",
        "raw": json.dumps(value),
        "title": "Reword again",
        "base_version": 2,
        "confirmed": "1",
    }
    refused = client.post(METRICS_EDIT, {**form, "effective_at": ""})
    published = client.post(METRICS_EDIT, {**form, "effective_at": "2031-03-10 00:00"})

    assert "Version 2 is scheduled for <time" in page
    assert 'name="effective_at"' in page and 'value="2031-03-10 00:00"' in page
    assert "Version 2 is scheduled for Mon 10 Mar 2031, 00:00 UTC" in refused.content.decode()
    assert "Later wording" in refused.content.decode()  # what was typed is kept
    assert published.status_code == 302
    config = Config.objects.get(key="custom-metrics")
    assert newest_version(config).number == 3
    assert newest_version(config).effective_at == MONDAY
