"""In real Chromium: an editor adds a metric through the form and publishes version 2."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}", exact=False)).to_be_visible()


def test_alice_adds_a_metric_through_the_form_and_sees_version_2(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(f"{live_server.url}/configs/sales-ops/custom-metrics/")
    page.get_by_role("link", name="Edit this config").click()

    form = page.locator("#panel-form")
    form.get_by_role("button", name="Add metric", exact=True).first.click()
    # The new, third metric's inputs are the last ones labelled with the schema's titles.
    form.get_by_label("Metric name").last.fill("refund_rate")
    form.get_by_label("Kind").last.select_option("ratio")
    form.get_by_label("Event name").last.fill("refund_issued")
    form.get_by_label("Denominator event (ratio)").last.fill("checkout_completed")
    page.get_by_label("Why are you making this change?").fill("Track refunds for the Q1 review")
    page.get_by_role("button", name="Review my change").click()

    expect(page.locator("#preview")).to_contain_text("Metrics: added refund_rate")
    page.get_by_role("button", name="Confirm and publish").click()

    expect(page.locator(".messagelist")).to_contain_text("Published version 2")
    expect(page.locator("#live-version")).to_contain_text("v2")
    expect(page.locator("#live-version")).to_contain_text("alice")
    page.get_by_role("tab", name="JSON").click()
    expect(page.locator("#live-json")).to_contain_text('"refund_rate"')
