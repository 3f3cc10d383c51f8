"""What tripped people up in the second PM walk (issue 28), each as the person sees it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "/configs/data-pipelines/company-timezones/"
METRICS = "/configs/sales-ops/custom-metrics/"


@pytest.mark.parametrize("typed", ["time zone", "time zones", "Time-Zones"])
def test_6_dave_finds_company_timezones_by_the_words_he_types(page, live_server, demo, typed):
    log_in(page, live_server, "dave", demo["dave"])
    page.goto(live_server.url + "/configs/")
    page.get_by_label("Search").fill(typed)
    page.get_by_label("Search").press("Enter")

    expect(page.get_by_role("link", name="Company timezones")).to_be_visible()
    expect(page.get_by_role("link", name="Custom metrics")).to_have_count(0)


@pytest.mark.parametrize("path", [TIMEZONES, TIMEZONES + "edit/"])
def test_3_a_row_without_switch_over_at_shows_an_empty_box(page, live_server, demo, path):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + path)

    form = page.locator("#panel-form, #live-form").first
    acme = form.get_by_label("Switch over at").first  # acme has none; globex switches
    expect(acme).to_have_value("")
    expect(acme).not_to_have_attribute("placeholder", "2026-11-30 00:00")
    assert (acme.get_attribute("placeholder") or "") == ""
    expect(form.get_by_label("Switch over at").nth(1)).to_have_value("2026-12-01 00:00")


def test_7_the_add_button_reads_as_it_is_named(page, live_server, demo):
    log_in(page, live_server, "carol", demo["carol"])
    page.goto(live_server.url + METRICS + "edit/")

    # The widget's own button, under the last metric (the one at the top is the console's).
    bottom = page.locator("#panel-form .rjf-add-button").last
    expect(bottom).to_have_text("Add metric")
    expect(bottom).to_have_accessible_name("Add metric")
    expect(page.locator("#panel-form .rjf-add-button", has_text="Add item")).to_have_count(0)
    bottom.click()
    expect(page.locator("#panel-form .rjf-add-button").last).to_have_text("Add metric")
