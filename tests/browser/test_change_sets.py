"""In real Chromium: alice onboards a company across two configs in one change request, and bob
approves and publishes both at once."""

import json

import pytest
from playwright.sync_api import expect

from configs.models import Config
from configs.selectors import newest_version as newest
from reviews import services
from tests.browser.test_edit_through_form import log_in
from tests.values import with_company

pytestmark = pytest.mark.django_db(transaction=True)


def test_alice_adds_a_second_config_and_bob_publishes_both_at_once(page, live_server, demo):
    timezones = Config.objects.get(key="company-timezones")
    warehouses = Config.objects.get(key="warehouse-connections")
    alice = timezones.owners.model.objects.get(username="alice")
    cr = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Onboard hooli",
        base_version=1,
        draft=True,
    )
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + cr.get_absolute_url())

    page.get_by_label("Config", exact=True).select_option("data-pipelines/warehouse-connections")
    page.get_by_role("button", name="Add and edit its value").click()
    value = newest(warehouses).value
    value["connections"].append(
        {
            "company_id": "hooli",
            "warehouse": "snowflake",
            "database": "ANALYTICS",
            "schema": "EVENTS",
            "credential_ref": "vault://warehouses/hooli",
        }
    )
    page.get_by_role("tab", name="Raw JSON").click()
    page.locator("#panel-raw textarea").fill(json.dumps(value))
    page.get_by_role("button", name="Add to this change").click()

    expect(page.locator("#cr-configs")).to_contain_text("2 configs")
    added = cr.changes.get(config=warehouses)  # a section per change (a config may be in two)
    expect(page.locator(f"#change-{added.pk}")).to_contain_text("hooli")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob", demo["bob"])
    page.get_by_role("link", name="My reviews 1 waiting for you").click()
    expect(page.locator("#content")).to_contain_text("2 configs")
    page.get_by_role("link", name="Onboard hooli").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#cr-status")).to_have_text("Approved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish all 2 changes").click()

    expect(page.locator(".messagelist")).to_contain_text("Published all 2 changes")
    expect(page.locator("#cr-status")).to_have_text("Published")
    assert newest(timezones).number == 2 and newest(warehouses).number == 2
