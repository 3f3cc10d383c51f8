"""In real Chromium: alice proposes, bob reviews from his inbox, approves and publishes."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_alice_proposes_and_bob_approves_and_publishes(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(f"{live_server.url}/configs/data-pipelines/company-timezones/")
    page.get_by_role("link", name="Edit this config").click()
    # globex (the second company) moves to Tokyo time.
    page.locator("#panel-form").get_by_label("Timezone", exact=True).nth(1).select_option(
        "Asia/Tokyo"
    )
    page.get_by_label("Why are you making this change?").fill("Globex reports from Tokyo now")
    page.get_by_role("button", name="Review my change").click()
    expect(page.locator("#preview")).to_contain_text(
        "Companies → globex → Timezone: Europe/Berlin → Asia/Tokyo"
    )
    page.get_by_role("button", name="Confirm and submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob", demo["bob"])
    page.get_by_role("link", name="My reviews 1 waiting for you").click()
    page.get_by_role("link", name="Globex reports from Tokyo now").click()
    expect(page.locator("#diff")).to_contain_text(
        "Companies → globex → Timezone: Europe/Berlin → Asia/Tokyo"
    )
    page.get_by_label("Comment (optional").fill("Confirmed with their finance team")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#cr-status")).to_have_text("Approved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish version 2").click()

    expect(page.locator(".messagelist")).to_contain_text("Published version 2")
    expect(page.locator("#live-version")).to_contain_text("v2")
    expect(page.locator("#live-version")).to_contain_text("approved by bob")
