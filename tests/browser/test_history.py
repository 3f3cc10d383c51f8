"""In real Chromium: alice opens a config's history, compares two versions, restores one (saying
why) and publishes the restore."""

import pytest
from playwright.sync_api import expect

from configs.models import Config
from configs.selectors import versions_of
from reviews.services import change_request_open
from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_alice_compares_two_versions_and_restores_the_older_one(page, live_server, demo):
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(username="alice")
    metrics = Config.objects.get(key="custom-metrics")
    original = versions_of(metrics).get(number=1).value
    change_request_open(
        config=metrics,
        author=alice,
        value={"metrics": original["metrics"][:1]},
        title="Drop signup conversion",
        base_version=1,
        publish=True,
    )

    log_in(page, live_server, "alice", demo["alice"])
    page.goto(f"{live_server.url}/configs/sales-ops/custom-metrics/")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("#history")).to_contain_text("Drop signup conversion")
    page.get_by_label("Compare from version 1", exact=True).check()
    page.get_by_label("Compare to version 2", exact=True).check()
    page.get_by_role("button", name="Compare", exact=True).click()

    expect(page.locator("h1")).to_contain_text("version 1 → version 2")
    expect(page.locator("#diff-table")).to_contain_text("Metrics: removed signup_conversion")
    page.get_by_text("Side by side JSON").click()
    expect(page.locator(".side-by-side")).to_contain_text('"signup_conversion"')

    # The restore asks why; left blank, the browser does not send it.
    why = page.get_by_label("Why restore this version?")
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.locator("h1")).to_contain_text("version 1 → version 2")
    assert why.evaluate("input => input.validity.valueMissing")
    why.fill("Sales still reports signup conversion")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.locator("h1")).to_contain_text("Restore version 1")
    expect(page.locator(".lead")).to_contain_text("Sales still reports signup conversion")
    expect(page.locator("#diff")).to_contain_text("Metrics: added signup_conversion")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish version 3").click()

    expect(page.locator(".messagelist")).to_contain_text("Published version 3")
    expect(page.locator("#live-version")).to_contain_text("v3")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("#v3")).to_contain_text("Restore version 1")
    expect(page.locator("#v3")).to_contain_text("live")
    expect(page.locator("#v2")).to_contain_text("Drop signup conversion")
    assert versions_of(metrics).get(number=3).value == original
