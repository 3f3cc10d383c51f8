"""In real Chromium: a PM (alice) sees what staging has that production lacks, promotes it, bob
approves and publishes it, and then the two match."""

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations
from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_alice_promotes_staging_to_production_and_bob_approves_it(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(f"{live_server.url}/configs/?namespace=data-pipelines")
    page.get_by_role("link", name="Differences between environments").click()

    expect(page.locator("h1")).to_have_text("Differences between Staging and production")
    row = page.locator("#differences tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Company timezones")
    expect(row).to_contain_text("Companies: added umbrella (Europe/London)")
    assert serious_violations(page) == []

    page.get_by_label("Why (shown to reviewers)").fill("Umbrella goes live in London time")
    page.get_by_role("button", name="Promote to production").click()
    expect(page.locator(".messagelist")).to_contain_text("promotes Staging's values to Production")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob", demo["bob"])
    page.get_by_role("link", name="My reviews 1 waiting for you").click()
    page.get_by_role("link", name="Umbrella goes live in London time").click()
    expect(page.locator("#diff")).to_contain_text("Companies: added umbrella (Europe/London)")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#cr-status")).to_have_text("Approved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator(".messagelist")).to_contain_text("Published version 2")

    page.goto(f"{live_server.url}/namespaces/data-pipelines/drift/")
    expect(page.locator("#no-differences")).to_contain_text("Staging and production match")
    assert serious_violations(page) == []
