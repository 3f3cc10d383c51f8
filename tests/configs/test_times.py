"""Times in one named zone: typed in the form, stored in UTC, read back in words."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from configs import times
from configs.models import Config
from configs.selectors import newest_version
from people.services import profile_set_time_zone
from reviews.models import ChangeRequest

EDIT = "/configs/data-pipelines/company-timezones/edit/"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


def globex_moves(switch_over_at: str) -> dict:
    return {
        "companies": [
            {"company_id": "acme", "timezone": "America/Los_Angeles"},
            {"company_id": "globex", "timezone": "Asia/Tokyo", "effective_from": switch_over_at},
            {"company_id": "initech", "timezone": "Asia/Tokyo"},
        ]
    }


def post_form(client, value, **extra):
    config = Config.objects.get(key="company-timezones")
    return client.post(
        EDIT,
        {
            "editor": "form",
            "value": json.dumps(value),
            "title": "Globex moves to Tokyo",
            "base_version": newest_version(config).number,
            **extra,
        },
    )


@pytest.mark.parametrize(
    ("typed", "zone", "stored"),
    [
        ("2026-11-30 00:00", "UTC", "2026-11-30T00:00:00Z"),
        ("2026-11-30T00:00", "UTC", "2026-11-30T00:00:00Z"),
        ("2026-11-30", "UTC", "2026-11-30T00:00:00Z"),
        ("2026-11-30 09:00", "Asia/Tokyo", "2026-11-30T00:00:00Z"),
        ("2026-11-29 19:00", "America/New_York", "2026-11-30T00:00:00Z"),
        ("2026-11-30 09:00+09:00", "UTC", "2026-11-30T00:00:00Z"),
    ],
)
def test_a_typed_time_is_read_in_the_named_zone_and_stored_in_utc(typed, zone, stored):
    schema = {"type": "string", "format": "date-time"}

    assert times.from_typing(typed, schema, zone=ZoneInfo(zone)) == stored


@pytest.mark.parametrize("typed", ["next monday", "2026-13-01 00:00", "2026-11-30 25:00", "30/11"])
def test_an_odd_time_is_kept_exactly_as_typed_for_the_validator_to_name(typed):
    schema = {"type": "string", "format": "date-time"}

    assert times.from_typing(typed, schema) == typed


def test_a_date_typed_with_a_short_year_is_kept_not_wiped():
    schema = {"type": "string", "format": "date-time"}

    assert times.from_typing("0002-11-30", schema) == "0002-11-30T00:00:00Z"


def test_an_unchanged_time_keeps_its_exact_text():
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    before = {"at": "2026-12-01T00:00Z"}

    shown = times.for_typing(before, schema)

    assert shown == {"at": "2026-12-01 00:00"}
    assert times.from_typing(shown, schema, before=before) == before


def test_times_in_words_name_their_zone():
    instant = datetime(2026, 11, 30, tzinfo=UTC)

    assert times.in_words(instant, UTC) == "Mon 30 Nov 2026, 00:00 UTC"
    assert times.in_words(instant, ZoneInfo("Asia/Tokyo")) == "Mon 30 Nov 2026, 09:00 Asia/Tokyo"
    assert times.relative(instant, NOW) == "in 3 days"
    assert times.relative(NOW, instant) == "3 days ago"


@time_machine.travel(NOW, tick=False)
def test_the_edit_form_names_utc_and_the_preview_says_the_time_in_words(client, alice):
    client.force_login(alice)

    page = client.get(EDIT).content.decode()
    response = post_form(client, globex_moves("2026-11-30 00:00"))

    assert "Date and time in UTC" in page
    assert "2026-12-01 00:00" in page  # globex's stored time, shown for typing in UTC
    preview = response.content.decode().split('id="preview"')[1].split("</ul>")[0]
    assert "Switch over at: Tue 1 Dec 2026, 00:00 UTC → Mon 30 Nov 2026, 00:00 UTC" in preview


@time_machine.travel(NOW, tick=False)
def test_a_person_who_chose_tokyo_types_and_reads_tokyo_time(client, alice):
    profile_set_time_zone(user=alice, time_zone="Asia/Tokyo")
    client.login(username="alice", password="alice-demo-2026")

    page = client.get(EDIT).content.decode()
    response = post_form(client, globex_moves("2026-11-30 09:00"), confirmed="1")

    assert "Date and time in Asia/Tokyo" in page
    assert "2026-12-01 09:00" in page
    assert response.status_code == 302
    proposal = ChangeRequest.objects.get(author=alice)
    assert proposal.value["companies"][1]["effective_from"] == "2026-11-30T00:00:00Z"


def test_an_unchanged_time_does_not_count_as_a_change(client, alice):
    client.force_login(alice)
    value = newest_version(Config.objects.get(key="company-timezones")).value
    value["companies"][1]["effective_from"] = "2026-12-01 00:00"

    response = post_form(client, value)

    assert "Nothing has changed yet" in response.content.decode()


def test_an_unreadable_time_is_named_in_words_and_kept(client, alice):
    client.force_login(alice)

    response = post_form(client, globex_moves("30th of Nov"))

    page = response.content.decode()
    assert "Switch over at: enter a date and time." in page
    assert "30th of Nov" in page


def test_the_settings_page_changes_the_zone_the_console_names(client, alice):
    client.login(username="alice", password="alice-demo-2026")

    client.post("/settings/", {"time_zone": "Europe/Berlin"})
    page = client.get(EDIT).content.decode()

    assert "Date and time in Europe/Berlin" in page
    assert client.post("/settings/", {"time_zone": "Mars/Olympus"}).status_code == 200
