"""A person reads a config's value in each environment side by side, switches to one, and an
admin keeps the environments: readable, by keyboard and screen reader (axe finds nothing
critical or serious), and never wider than a phone."""

import pytest
from playwright.sync_api import expect

from configs import environments
from configs.models import Config
from configs.selectors import newest_version
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "/configs/data-pipelines/company-timezones/"


@pytest.fixture
def staging_ahead(demo):
    """Staging's company-timezones: the demo's version 2 there, one company (umbrella) more
    than production's."""
    config = Config.objects.get(key="company-timezones")
    return newest_version(config, environments.named("staging"))


def test_a_viewer_reads_each_environment_side_by_side_and_switches(
    page, live_server, demo, staging_ahead
):
    log_in(page, live_server, "dave", demo["dave"])
    page.goto(live_server.url + TIMEZONES)
    table = page.locator("#in-each-environment table")
    expect(table).to_be_visible()
    staging = table.locator("#env-staging")
    expect(staging).to_contain_text(f"v2, by {staging_ahead.published_by}")
    expect(staging).to_contain_text("Companies: added umbrella (Europe/London)")
    production = table.locator("#env-production")
    expect(production).to_contain_text("v1")
    expect(production).to_contain_text("umbrella")
    expect(table.locator("#env-development")).to_contain_text("First in promotion order")
    assert serious_violations(page) == []

    page.get_by_role("navigation", name="Environment").get_by_role("link", name="Staging").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("in Staging")
    expect(page.locator("#live-version")).to_contain_text("v2")
    expect(
        page.get_by_role("navigation", name="Environment").get_by_role("link", name="Staging")
    ).to_have_attribute("aria-current", "page")
    assert serious_violations(page) == []

    page.get_by_role("link", name="History in Staging").click()
    expect(page.locator("#history")).to_contain_text(staging_ahead.reason)
    assert serious_violations(page) == []


def test_the_side_by_side_fits_a_phone(browser, live_server, demo, staging_ahead):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "dave", demo["dave"])
    widths = {}
    for path in [TIMEZONES, TIMEZONES + "?environment=staging"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert all(width <= 390 for width in widths.values()), widths


def test_an_admin_adds_and_reorders_environments_by_keyboard(
    page, live_server, demo, django_user_model
):
    django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123")
    log_in(page, live_server, "root", "root-pass-123")
    page.goto(live_server.url + "/environments/")
    assert serious_violations(page) == []
    page.get_by_label("Name", exact=True).last.fill("qa")
    page.locator("#new-title").fill("QA")
    page.get_by_role("button", name="Add environment").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Added QA")
    rows = page.locator("#environments tbody tr")
    expect(rows.nth(2)).to_contain_text("QA")
    page.get_by_role("button", name="move QA up").click()
    expect(page.get_by_role("status")).to_contain_text("Moved QA earlier")
    expect(rows.nth(1)).to_contain_text("QA")
    assert serious_violations(page) == []
