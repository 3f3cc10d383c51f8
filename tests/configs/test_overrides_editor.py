"""Values for some customers (overrides), proposed through the console's edit form: as JSON
typed without JavaScript, or as the editor in words writes them."""

import json
import re

import pytest
from config_console_client.evaluation import OPERATORS

from configs.override_words import OPERATOR_CHOICES
from configs.selectors import versions_of
from people.services import profile_set_time_zone
from reviews.models import ChangeRequest

TIMEZONES_EDIT = "/configs/data-pipelines/company-timezones/edit/"
METRICS_EDIT = "/configs/sales-ops/custom-metrics/edit/"


def for_globex_and_initech(value) -> list:
    berlin = json.loads(json.dumps(value))
    for company in berlin["companies"]:
        company["timezone"] = "Europe/Berlin"
    return [
        {
            "name": "globex-and-initech",
            "when": [{"attribute": "company", "op": "in", "values": ["globex", "initech"]}],
            "value": berlin,
        }
    ]


def post(client, url, value, overrides, *, confirmed=True, editor="raw", **extra):
    data = {
        "editor": "raw",
        "raw": json.dumps(value),
        "overrides": overrides if isinstance(overrides, str) else json.dumps(overrides),
        "overrides_editor": editor,
        "title": "Globex and Initech work in Berlin",
        "base_version": 1,
        **extra,
    }
    if confirmed:
        data["confirmed"] = "1"
    return client.post(url, data)


def editor_data(page: str) -> dict:
    found = re.search(r'<script id="overrides-data" type="application/json">(.*?)</script>', page)
    assert found, "the page carries no overrides editor"
    return json.loads(found.group(1))


def test_overrides_posted_through_the_form_open_a_change_request_with_them(
    client, alice, timezones
):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    overrides = for_globex_and_initech(value)

    response = post(client, TIMEZONES_EDIT, value, overrides)

    change_request = ChangeRequest.objects.get()
    assert response.url == change_request.get_absolute_url()
    assert change_request.change.overrides == overrides
    assert change_request.change.value == value
    page = client.get(change_request.get_absolute_url()).content.decode()
    assert "For companies globex, initech: Companies → acme → Timezone: America/Los_Angeles" in page


def test_the_preview_tells_what_changes_for_some_customers(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value

    response = post(client, TIMEZONES_EDIT, value, for_globex_and_initech(value), confirmed=False)

    page = response.content.decode()
    assert 'id="preview"' in page
    assert "For companies globex, initech: Companies → acme → Timezone:" in page
    assert ChangeRequest.objects.count() == 0


def test_the_editor_in_words_sends_values_as_the_schema_form_types_them(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    overrides = for_globex_and_initech(value)
    typed = json.loads(json.dumps(overrides))
    # The schema form sends an empty box for a date left empty; it means "not set".
    typed[0]["value"]["companies"][0]["effective_from"] = ""

    post(client, TIMEZONES_EDIT, value, typed, editor="form")

    assert ChangeRequest.objects.get().change.overrides == overrides


def test_an_override_value_the_schema_refuses_is_named_beside_it_and_nothing_is_saved(
    client, alice, timezones
):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    overrides = for_globex_and_initech(value)
    overrides[0]["value"]["companies"][1]["timezone"] = "Mars/Olympus"

    response = post(client, TIMEZONES_EDIT, value, overrides, editor="form")

    page = response.content.decode()
    assert response.status_code == 200
    assert ChangeRequest.objects.count() == 0
    assert "Please correct the 1 problem below." in page
    assert "Values for some customers → globex-and-initech → Companies → globex" in page
    assert "Timezone: choose one of the listed timezones." in page
    assert "/overrides/0/value/companies/1/timezone" in page
    data = editor_data(page)
    # What was typed is shown again, with the problem beside its override and its field.
    assert data["overrides"][0]["value"]["companies"][1]["timezone"] == "Mars/Olympus"
    beside = data["problems"]["0"]
    assert any("choose one of the listed timezones" in m for m in beside["override"])
    assert beside["value_errors"] == {
        "companies§1§timezone": [
            "globex-and-initech: Timezone: choose one of the listed timezones."
        ]
    }


def test_a_split_whose_percentages_do_not_add_up_to_100_is_refused_in_words(
    client, alice, timezones
):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    split = {
        "name": "rollout",
        "split": {
            "by": "targetingKey",
            "buckets": [
                {"name": "control", "percent": 10, "value": value},
                {"name": "berlin", "percent": 80, "value": value},
            ],
        },
    }

    response = post(client, TIMEZONES_EDIT, value, [split], editor="form")

    page = response.content.decode()
    assert ChangeRequest.objects.count() == 0
    assert "Override &#x27;rollout&#x27;: the percentages must add up to 100." in page
    assert editor_data(page)["problems"]["0"]["split"] == [
        "Override 'rollout': the percentages must add up to 100."
    ]


def test_overrides_json_that_does_not_parse_is_refused_and_kept(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value

    response = post(client, TIMEZONES_EDIT, value, '[{"name": "globex",}]')

    page = response.content.decode()
    assert "This is not valid JSON" in page
    assert "[{&quot;name&quot;: &quot;globex&quot;,}]" in page
    assert editor_data(page)["overrides"] is None  # the box is shown as typed instead
    assert ChangeRequest.objects.count() == 0


def test_a_form_without_the_overrides_box_keeps_the_overrides_there_are(client, alice, metrics):
    client.force_login(alice)
    value = versions_of(metrics).get(number=1).value
    value["metrics"][0]["description"] = "Revenue, net of refunds"
    kept = versions_of(metrics).get(number=1).overrides
    assert kept, "the demo's custom-metrics has an override for Globex"

    client.post(
        METRICS_EDIT,
        {
            "editor": "raw",
            "raw": json.dumps(value),
            "title": "Say net of refunds",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    assert versions_of(metrics).get(number=2).overrides == kept


def test_removing_every_override_publishes_a_value_for_everyone(client, alice, metrics):
    client.force_login(alice)
    value = versions_of(metrics).get(number=1).value

    response = post(client, METRICS_EDIT, value, [], confirmed=False)
    assert "For company globex: no value of their own any more" in response.content.decode()
    post(client, METRICS_EDIT, value, [])

    assert versions_of(metrics).get(number=2).overrides == []


def test_the_edit_page_offers_the_attributes_in_use_and_every_operator_in_words(
    client, alice, metrics
):
    client.force_login(alice)

    page = client.get(METRICS_EDIT).content.decode()

    data = editor_data(page)
    assert data["attributes"] == ["company", "targetingKey"]
    assert data["overrides"][0]["name"] == "globex"
    assert {o["op"] for o in data["operators"]} == set(OPERATORS)
    assert 'id="override-value-template"' in page
    assert "Add a value for some customers" in page


def test_editing_an_open_change_request_keeps_its_overrides(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    overrides = for_globex_and_initech(value)
    post(client, TIMEZONES_EDIT, value, overrides)
    change_request = ChangeRequest.objects.get()
    edit = f"/changes/{change_request.pk}/edit/"

    shown = editor_data(client.get(edit).content.decode())["overrides"]
    assert [(o["name"], o["when"]) for o in shown] == [(o["name"], o["when"]) for o in overrides]
    # Dates as the schema form types them, in the page's zone.
    assert shown[0]["value"]["companies"][1]["effective_from"] == "2026-12-01 00:00"
    changed = json.loads(json.dumps(value))
    changed["companies"][0]["timezone"] = "UTC"
    client.post(
        edit,
        {
            "editor": "raw",
            "raw": json.dumps(changed),
            "overrides": json.dumps(overrides),
            "overrides_editor": "raw",
            "title": change_request.title,
        },
    )

    change_request.refresh_from_db()
    change_request.forget_changes()
    assert change_request.change.value == changed
    assert change_request.change.overrides == overrides


@pytest.mark.parametrize("choice", OPERATOR_CHOICES, ids=lambda c: c["op"])
def test_every_operator_is_offered_in_words(choice):
    assert choice["words"] and choice["op"] in OPERATORS


def after_december_1st(value, *, at) -> list:
    return [
        {
            "name": "from-december",
            "when": [{"attribute": "signed_up", "op": "after", "values": [at]}],
            "value": value,
        }
    ]


def test_a_condition_date_is_typed_and_shown_in_the_persons_zone_and_stored_in_utc(
    client, alice, timezones
):
    profile_set_time_zone(user=alice, time_zone="Asia/Tokyo")
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value

    page = client.get(TIMEZONES_EDIT).content.decode()
    post(
        client,
        TIMEZONES_EDIT,
        value,
        after_december_1st(value, at="2026-12-01 09:00"),
        editor="form",
    )

    helps = {o["op"]: o["help"] for o in editor_data(page)["operators"]}
    assert helps["after"].startswith("A date and time in Asia/Tokyo, such as ")
    assert helps["before"].startswith("A date and time in Asia/Tokyo, such as ")
    change_request = ChangeRequest.objects.get()
    stored = change_request.change.overrides[0]["when"][0]
    assert stored == {"attribute": "signed_up", "op": "after", "values": ["2026-12-01T00:00:00Z"]}
    # Edited again, it is shown in Tokyo time.
    edit = editor_data(client.get(f"/changes/{change_request.pk}/edit/").content.decode())
    assert edit["overrides"][0]["when"][0]["values"] == ["2026-12-01 09:00"]
    # Folded, the override says whom it is for with the zone named.
    assert edit["summaries"] == ["For signed up after Tue 1 Dec 2026, 09:00 Asia/Tokyo"]


def test_an_untouched_condition_date_keeps_its_exact_text(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    # Stored through the API with an offset of its own; the page shows it in UTC.
    post(client, TIMEZONES_EDIT, value, after_december_1st(value, at="2026-12-01T09:00:00+09:00"))
    change_request = ChangeRequest.objects.get()
    edit = f"/changes/{change_request.pk}/edit/"
    shown = editor_data(client.get(edit).content.decode())["overrides"]
    assert shown[0]["when"][0]["values"] == ["2026-12-01 00:00"]

    post(client, edit, value, shown, editor="form", title="Same again")

    change_request.refresh_from_db()
    change_request.forget_changes()
    assert change_request.change.overrides[0]["when"][0]["values"] == ["2026-12-01T09:00:00+09:00"]


def test_values_holding_commas_and_several_patterns_are_kept_as_sent(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    overrides = [
        {
            "name": "big-customers",
            "when": [
                {"attribute": "company", "op": "in", "values": ["Acme, Inc.", "Globex"]},
                {"attribute": "email", "op": "matches", "values": ["@acme\\.com$", "^a{1,3}-"]},
            ],
            "value": value,
        }
    ]

    post(client, TIMEZONES_EDIT, value, overrides, editor="form")

    assert ChangeRequest.objects.get().change.overrides[0]["when"] == overrides[0]["when"]


def test_every_pattern_typed_is_shown_again_with_the_one_refused(client, alice, timezones):
    client.force_login(alice)
    value = versions_of(timezones).get(number=1).value
    patterns = ["@acme\\.com$", "(unclosed", "^globex-"]
    overrides = [
        {
            "name": "by-email",
            "when": [{"attribute": "email", "op": "matches", "values": patterns}],
            "value": value,
        }
    ]

    response = post(client, TIMEZONES_EDIT, value, overrides, editor="form")

    assert ChangeRequest.objects.count() == 0
    data = editor_data(response.content.decode())
    assert data["overrides"][0]["when"][0]["values"] == patterns
    assert data["problems"]["0"]["condition"]["0"]
