"""In real Chromium, the authoring story: carol starts a config from an example, bob approves
its version 1; alice adds a required field with a default to a schema in use, bob reviews the
schema and the migrated value on one page and publishes; pipelines read the new value."""

import copy
import json

import pytest
from playwright.sync_api import expect

from configs.models import Membership, Namespace, Role, Schema
from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = {"holidays": [{"date": "2026-12-25", "name": "Christmas"}], "country": "DE"}


def test_a_config_is_created_from_an_example_and_a_schema_evolves_with_its_values(
    page, live_server, demo
):
    # alice runs the data pipelines' schemas: admins of every namespace using one change it.
    Membership.objects.filter(
        user__username="alice", namespace=Namespace.objects.get(slug="data-pipelines")
    ).update(role=Role.ADMIN)

    log_in(page, live_server, "carol", demo["carol"])
    page.goto(f"{live_server.url}/configs/?namespace=data-pipelines")
    page.get_by_role("link", name="New config").click()
    expect(page.get_by_label("Namespace")).to_have_value("data-pipelines")
    page.get_by_label("Key", exact=True).fill("holiday-calendar")
    page.get_by_label("Name", exact=True).fill("Holiday calendar")
    page.get_by_label("Start from an example").check()
    page.get_by_label("Example value (JSON)").fill(json.dumps(EXAMPLE))
    page.get_by_role("button", name="Propose a schema from the example").click()
    expect(page.get_by_label("Proposed schema (JSON Schema)")).to_contain_text('"Holidays"')
    page.get_by_label("Why are you making this change?").fill("Holidays for the daily jobs")
    page.get_by_role("button", name="Create config").click()
    expect(page.locator(".messagelist")).to_contain_text("version 1 waits for review")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob", demo["bob"])
    page.locator("#nav-reviews").click()  # "My reviews", with its count
    page.get_by_role("link", name="Holidays for the daily jobs").click()
    page.get_by_role("button", name="Approve").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.locator(".messagelist")).to_contain_text("Published version 1")
    calendar = page.request.get(
        f"{live_server.url}/api/v1/configs/data-pipelines/holiday-calendar/"
    )
    assert calendar.json()["value"] == EXAMPLE
    assert calendar.json()["schema"] == "holiday-calendar"
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "alice", demo["alice"])
    page.goto(f"{live_server.url}/schemas/company-timezones/")
    page.get_by_role("link", name="Edit this schema").click()
    body = copy.deepcopy(Schema.objects.get(name="company-timezones").body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team", "default": "data"}
    item["required"].append("owner_team")
    page.get_by_label("JSON Schema").fill(json.dumps(body, indent=2))
    page.get_by_label("Why are you changing it?").fill("Every company has an owner team")
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#schema-words")).to_contain_text(
        "Companies → item: new required field Owner team, default 'data'"
    )
    expect(page.locator("#affected")).to_contain_text("filled in from the schema's defaults")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    review_url = page.url
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob", demo["bob"])
    page.goto(review_url)
    expect(page.locator("#schema-words")).to_contain_text("new required field Owner team")
    # the migrated value in each environment, each told in words
    expect(page.locator(".value-words")).to_have_count(3)
    for words in page.locator(".value-words").all():
        expect(words).to_contain_text("Owner team")
    page.get_by_role("button", name="Approve the schema and all values").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messagelist")).to_contain_text("Published")

    read = page.request.get(f"{live_server.url}/api/v1/configs/data-pipelines/company-timezones/")
    document = read.json()
    assert document["schema_version"] == 2
    assert {c["owner_team"] for c in document["value"]["companies"]} == {"data"}
