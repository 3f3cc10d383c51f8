"""CONFIG_MAX_VALUE_BYTES: a larger value is refused at once (413 in the API), before anything
walks it."""

import json

import pytest

from audit.models import AuditEvent
from common.errors import ValueTooLarge
from configs import environments
from configs.diff import diff_values, first_changes
from configs.models import Version
from configs.validation import serialized_size, validate_value
from reviews.services import change_request_open
from tests.api.conftest import client_for, make_token

LEGACY_API = "/api/v1/configs/sales-ops/legacy-fields/change-requests/"


def sized(size: int) -> dict:
    """A value exactly `size` bytes long as compact JSON."""
    value = {"pad": ""}
    value["pad"] = "x" * (size - serialized_size(value))
    assert serialized_size(value) == size
    return value


def test_the_default_limit_is_one_mebibyte(settings):
    assert settings.CONFIG_MAX_VALUE_BYTES == 1024 * 1024


def test_a_value_at_the_limit_passes_and_one_byte_more_is_refused(settings):
    settings.CONFIG_MAX_VALUE_BYTES = 500

    assert validate_value(sized(500), None) == []
    with pytest.raises(ValueTooLarge) as refused:
        validate_value(sized(501), None)
    assert "501 bytes" in str(refused.value)
    assert "at most 500 bytes (CONFIG_MAX_VALUE_BYTES)" in str(refused.value)


def test_the_api_answers_413_naming_the_limit(alice, demo, settings):
    settings.CONFIG_MAX_VALUE_BYTES = 500
    _token, secret = make_token(alice, "sales-ops", write=True)

    response = client_for(secret).post(
        LEGACY_API, {"value": sized(501), "base_version": 1, "title": "Big"}, format="json"
    )

    assert response.status_code == 413
    body = response.json()
    assert "at most 500 bytes" in body["detail"]
    assert body["errors"][0]["path"] == ""


def test_the_console_shows_the_limit_and_keeps_nothing(client, alice, settings):
    settings.CONFIG_MAX_VALUE_BYTES = 500
    client.force_login(alice)

    response = client.post(
        "/configs/sales-ops/legacy-fields/edit/",
        {
            "editor": "raw",
            "raw": json.dumps(sized(501)),
            "title": "Big",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert response.status_code == 200
    assert "at most 500 bytes" in response.content.decode()
    # still version 1 alone, in each environment
    assert Version.objects.filter(config__key="legacy-fields").count() == len(environments.every())


def test_the_1_9_mb_value_of_tiny_arrays_is_refused_without_being_walked(alice, demo):
    rows = [[n % 10] for n in range(450_000)]
    _token, secret = make_token(alice, "sales-ops", write=True)
    body = json.dumps({"value": {"rows": rows}, "base_version": 1, "title": "Huge"})

    response = client_for(secret).generic("POST", LEGACY_API, body, content_type="application/json")

    assert response.status_code == 413


def test_a_few_changes_in_a_long_list_are_listed_one_by_one():
    before = {"rows": [[n] for n in range(10_000)]}
    after = {"rows": [[n] for n in range(10_000)]}
    after["rows"][10] = [-1]
    after["rows"][9_000] = [-2]

    changes = diff_values(before, after)

    assert [change["path"] for change in changes] == ["/rows/10/0", "/rows/9000/0"]


def test_past_a_limit_changes_are_counted_not_described():
    before = {"rows": [[1], [2], [3]]}
    after = {"rows": [[0], [2], [3]] + [[n] for n in range(5_000)]}

    shown, total = first_changes(before, after, limit=3)

    assert total == 5_001
    assert [change["path"] for change in shown] == ["/rows/0/0", "/rows/3", "/rows/4"]


@pytest.mark.django_db
def test_submitting_a_huge_list_keeps_a_short_diff_in_the_audit_log(timezones, alice):
    value = {"companies": [{"company_id": f"c-{n:05d}", "timezone": "UTC"} for n in range(3_000)]}

    change_request_open(config=timezones, author=alice, value=value, title="All", base_version=1)

    event = AuditEvent.objects.get(action="change_request.opened")
    assert len(event.details["diff"]) == 1_000
    assert event.details["changes_in_all"] > 1_000
