"""What tripped people up in the second PM walk (issue 28), each as the person sees it."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from configs.inference import infer_schema
from configs.models import Config, Namespace
from configs.selectors import newest_version
from reviews.new_configs import config_propose
from reviews.services import (
    change_request_approve,
    change_request_open,
    change_request_publish,
    schema_change_open,
)
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import open_proposal
from tests.browser.test_pm_tasks import KEY_BUDGET, Keys

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


def test_8_alice_adds_a_metric_from_the_dashboard_with_the_keyboard_alone(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + "/")
    keys = Keys(page)
    steps = {}

    def step(name):
        steps[name] = keys.count - sum(steps.values())

    keys.tab_to("Configs")  # the main navigation comes right after the site's name
    with page.expect_navigation():
        keys.press("Enter")
    step("to the config list")
    keys.tab_to("Skip to main content")
    keys.press("Enter")
    keys.tab_to("Search")
    keys.type("custom metrics")
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#search-results")).to_be_focused()
    expect(page.locator("#search-results")).to_have_text("1 config matches “custom metrics”.")
    keys.tab_to("Custom metric definitions")
    with page.expect_navigation():
        keys.press("Enter")
    step("to the config")
    keys.tab_to("Skip to main content")
    keys.press("Enter")
    keys.tab_to("Edit this config")
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_load_state("networkidle")
    step("to its edit page")
    keys.tab_to("Skip to main content")
    keys.press("Enter")
    keys.tab_to("Add metric")
    keys.press("Enter")
    expect(page.locator("#panel-form").get_by_label("Metric name").last).to_be_focused()
    step("to a new metric")
    keys.fill_row(
        {
            "Metric name": ("type", "refund_rate"),
            "Kind": ("press", "r"),
            "Event name": ("type", "refund_issued"),
            "Denominator event (ratio)": ("type", "checkout_completed"),
        }
    )
    keys.tab_to("Why are you making this change?")
    keys.type("Track refunds")
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#preview")).to_contain_text("Metrics: added refund_rate")
    keys.tab_to("Confirm and publish")
    with page.expect_navigation():
        keys.press("Enter")
    step("filled in and published")

    expect(page.locator(".messagelist")).to_contain_text("Published version 2")
    print(f"key presses: {keys.count} {steps}")
    assert keys.count <= KEY_BUDGET, f"{keys.count} key presses: {steps}"


def test_1_bob_finds_the_change_he_approved_on_his_dashboard_and_publishes_it(
    page, live_server, demo, alice
):
    proposal = open_proposal(alice)
    log_in(page, live_server, "bob", demo["bob"])
    page.goto(live_server.url + proposal.get_absolute_url())
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#cr-status")).to_have_text("Approved")

    page.get_by_role("link", name="Dashboard").click()
    ready = page.locator("#ready-to-publish")
    expect(ready.get_by_role("heading")).to_have_text("Approved, ready to publish")
    ready.get_by_role("link", name=f"#{proposal.pk} Globex to Tokyo").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator(".messagelist")).to_contain_text("Published version 2")
    page.goto(live_server.url + TIMEZONES)
    live = page.locator("#live-version")
    expect(live).to_contain_text(f"v2, proposed by alice in #{proposal.pk}, published by bob")
    expect(live).to_contain_text("approved by bob")

    page.get_by_role("link", name="My reviews").click()
    expect(page.get_by_text("Nothing approved is waiting to be published.")).to_be_visible()


def test_2_bob_follows_try_it_from_the_page_alone_and_his_script_reads_the_proposal(
    page, live_server, demo, alice
):
    proposal = open_proposal(alice)
    log_in(page, live_server, "bob", demo["bob"])
    page.goto(live_server.url + proposal.get_absolute_url())
    try_it = page.locator("#try-it")
    expect(try_it).to_contain_text("No pipeline reads the live data-pipelines/company-timezones")
    expect(page.locator("#try-install")).to_have_value("pip install -e ./client")

    try_it.get_by_role("link", name="make a read token for data-pipelines").click()
    expect(page.get_by_label("Name")).to_have_value(f"Trying #{proposal.pk}")
    expect(page.get_by_label("data-pipelines", exact=False).first).to_be_checked()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("The new token").input_value()

    page.goto(live_server.url + proposal.get_absolute_url())
    variables = page.locator("#try-variables").input_value()
    snippet = page.locator("#try-python").input_value()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIG_CONSOLE")}
    for line in variables.splitlines():
        name, _, setting = line.removeprefix("export ").partition("=")
        env[name] = secret if name == "CONFIG_CONSOLE_TOKEN" else setting.split("  #")[0]
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "client")
    ran = subprocess.run(
        [sys.executable, "-c", snippet + "\nimport json; print(json.dumps(value))"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["companies"][1]["timezone"] == "Asia/Tokyo"


def test_5_a_schema_change_names_each_company_by_its_id(page, live_server, demo, alice, bob, carol):
    timezones = Config.objects.get(key="company-timezones")
    # Globex twice (a second row for a later switch): company_id no longer tells rows apart.
    value = copy.deepcopy(newest_version(timezones).value)
    value["companies"].append(
        {"company_id": "globex", "timezone": "Asia/Tokyo", "effective_from": "2027-06-01T00:00:00Z"}
    )
    later = change_request_open(
        config=timezones, author=alice, value=value, title="Globex to Tokyo later", base_version=1
    )
    change_request_approve(change_request=later, reviewer=bob)
    change_request_publish(change_request=later, actor=bob)
    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["companies"]["items"]["properties"]["region"] = {
        "type": "string",
        "title": "Region",
        "default": "amer",
    }
    body["properties"]["companies"]["items"]["required"].append("region")  # filled by default
    change = schema_change_open(
        schema=timezones.schema, author=carol, body=body, base_version=1, title="Regions"
    )
    log_in(page, live_server, "bob", demo["bob"])
    page.goto(live_server.url + change.get_absolute_url())

    for company in ["acme", "globex", "initech"]:
        expect(page.locator("body")).to_contain_text(f"Companies → {company} → Region: set to amer")
    expect(page.locator("body")).not_to_contain_text("item 1")
    expect(page.locator("body")).not_to_contain_text("item 4")


def test_4_bob_reviews_a_new_config_and_sees_the_schema_made_with_it(
    page, live_server, demo, alice
):
    value = {"sso": True, "holidays": [{"date": "2026-12-25", "name": "Christmas"}]}
    created = config_propose(
        namespace=Namespace.objects.get(slug="data-pipelines"),
        key="login-settings",
        name="Login settings",
        value=value,
        actor=alice,
        title="Login settings for the data team",
        new_schema=infer_schema(value),
    )
    log_in(page, live_server, "bob", demo["bob"])
    page.goto(live_server.url + created.change_request.get_absolute_url())

    schema = page.locator("#new-schema")
    expect(schema).to_contain_text("Made with this config by alice")
    expect(schema.locator(".schema-fields")).to_contain_text("SSO: yes/no, required")
    expect(schema.get_by_label("Name").first).to_have_value("Christmas")
    expect(page.locator("#diff")).to_contain_text("SSO: set to yes")
    expect(page.locator("#diff")).not_to_contain_text("The whole value")
    assert serious_violations(page) == []
