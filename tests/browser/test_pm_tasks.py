"""Six tasks a product manager does alone in Chromium, each asserting what she sees."""

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from configs.models import Config
from configs.selectors import newest_version
from reviews.models import ChangeRequest
from reviews.services import change_request_approve, change_request_open, change_request_publish
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "/configs/data-pipelines/company-timezones/"
METRICS = "/configs/sales-ops/custom-metrics/"
# Keys pressed to move, choose and confirm (typing text is not counted).
KEY_BUDGET = 40


def next_monday() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def in_words(day: datetime) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}, 00:00 UTC"


def globex_to_tokyo(config, at: datetime) -> dict:
    value = copy.deepcopy(newest_version(config).value)
    value["companies"][1].update(timezone="Asia/Tokyo", effective_from=f"{at:%Y-%m-%d}T00:00:00Z")
    return value


def test_1_alice_types_next_mondays_switch_over_in_a_new_york_browser(new_york, live_server, demo):
    page = new_york
    monday = next_monday()
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + TIMEZONES)
    page.get_by_role("link", name="Edit this config").click()

    form = page.locator("#panel-form")
    form.get_by_label("Timezone", exact=True).nth(1).select_option("Asia/Tokyo")
    switch_over = form.get_by_label("Switch over at").nth(1)
    expect(page.locator("#panel-form")).to_contain_text("Date and time in UTC")
    switch_over.fill("")
    switch_over.press_sequentially(f"{monday:%Y-%m-%d} 00:00")
    page.get_by_label("Why are you making this change?").fill("Globex moves to Tokyo on Monday")
    page.get_by_role("button", name="Review my change").click()

    expect(page.locator("#preview")).to_contain_text(
        f"Companies → globex → Switch over at: Tue 1 Dec 2026, 00:00 UTC → {in_words(monday)}"
    )
    expect(page.locator("#preview")).to_contain_text("Timezone: Europe/Berlin → Asia/Tokyo")
    page.get_by_role("button", name="Confirm and submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    config = Config.objects.get(key="company-timezones")
    proposal = ChangeRequest.objects.get(changes__config=config)
    assert proposal.value["companies"][1]["effective_from"] == f"{monday:%Y-%m-%d}T00:00:00Z"


def test_2_bob_finds_the_change_from_his_count_approves_once_and_schedules_it(
    page, live_server, demo, alice
):
    monday = next_monday()
    config = Config.objects.get(key="company-timezones")
    change_request_open(
        config=config,
        author=alice,
        value=globex_to_tokyo(config, monday),
        title="Globex moves to Tokyo on Monday",
        base_version=1,
    )
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, live_server, "bob", demo["bob"])
    expect(page.locator("h1")).to_contain_text("Hello")  # the dashboard
    expect(page.locator("#nav-waiting")).to_have_text("1")
    page.locator("#nav-reviews").click()
    page.get_by_role("link", name="Globex moves to Tokyo on Monday").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#cr-status")).to_have_text("Approved")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#nav-waiting")).to_have_count(0)
    page.get_by_label(re.compile("^Take effect at")).fill(f"{monday:%Y-%m-%d} 00:00")
    page.get_by_role("button", name="Publish version 2").click()

    expect(page.locator(".messagelist")).to_contain_text("takes effect on schedule")
    scheduled = page.locator(".scheduled")
    expect(scheduled).to_have_count(1)
    expect(scheduled).to_contain_text(f"v2 takes effect {in_words(monday)}")
    expect(scheduled).to_contain_text(re.compile(r"\(in \d+ (day|hour)s?\)"))
    expect(page.locator("[data-countdown]")).to_have_count(0)


class Keys:
    """The keyboard, counting every key pressed that is not typing text."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def press(self, key: str, times: int = 1):
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str):
        self.page.keyboard.type(text)

    def focused(self) -> tuple[str, str]:
        """What a screen reader would call the focused element: its own text, and its label."""
        own = self.page.evaluate(
            """() => { const e = document.activeElement;
                return (e.getAttribute('aria-label') || e.value || e.textContent || '')
                    .trim(); }"""
        )
        label = self.page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.labels && e.labels[0] ? e.labels[0].textContent.trim() : ''; }"
        )
        return own, label

    def tab_to(self, name: str, limit: int = 40):
        """Tab until the focused element is called `name`, as a person tabs and reads."""
        for _ in range(limit):
            self.press("Tab")
            if name in self.focused():
                return
        raise AssertionError(f"{name!r} was not reached with the Tab key")

    def fill_row(self, answers: dict, limit: int = 12):
        """Go through a row's fields with Tab, answering each one asked for (typed text, or a
        key for a drop-down) and passing the others; those asked for come in the order given,
        the order the schema's author wrote them in."""
        waiting = list(answers)
        for _ in range(limit):
            label = self.focused()[1]
            if label in waiting:
                assert label == waiting[0], f"{label!r} came before {waiting[0]!r}"
                how, text = answers[waiting.pop(0)]
                if how == "type":
                    self.type(text)
                else:
                    self.press(text)
            if not waiting:
                return
            self.press("Tab")
        raise AssertionError(f"{waiting} not reached with the Tab key")


def test_3_alice_adds_a_metric_with_the_keyboard_alone(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + METRICS)
    keys = Keys(page)

    keys.tab_to("Skip to main content")
    keys.press("Enter")
    keys.tab_to("Edit this config")
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_load_state("networkidle")
    keys.tab_to("Skip to main content")
    keys.press("Enter")
    keys.tab_to("Add metric")
    keys.press("Enter")
    # The new row's first field, in the order the schema's author wrote them.
    expect(page.locator("#panel-form").get_by_label("Metric name").last).to_be_focused()
    keys.fill_row(
        {
            "Metric name": ("type", "refund_rate"),
            "Kind": ("press", "r"),  # the first (and only) kind starting with r: ratio
            "Event name": ("type", "refund_issued"),
            "Denominator event (ratio)": ("type", "checkout_completed"),
        }
    )
    keys.tab_to("Why are you making this change?")
    keys.type("Track refunds")
    with page.expect_navigation():
        keys.press("Enter")
    expect(page.locator("#preview")).to_contain_text("Metrics: added refund_rate")
    expect(page.locator("#preview")).to_be_focused()
    keys.tab_to("Confirm and publish")
    with page.expect_navigation():
        keys.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text("Published version 2")
    assert newest_version(Config.objects.get(key="custom-metrics")).value["metrics"][-1] == {
        "name": "refund_rate",
        "kind": "ratio",
        "event": "refund_issued",
        "denominator_event": "checkout_completed",
    }
    assert keys.count <= KEY_BUDGET, f"{keys.count} key presses"


def test_4_a_company_id_in_the_wrong_form_is_explained_under_its_row(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + TIMEZONES + "edit/")

    page.get_by_role("button", name="Add company", exact=True).first.click()
    company_id = page.get_by_label("Company ID").last
    expect(company_id).to_be_focused()
    company_id.fill("Globex Corp!")
    page.get_by_label("Timezone", exact=True).last.select_option("Asia/Tokyo")
    page.get_by_label("Why are you making this change?").fill("Add Globex Corp")
    page.get_by_role("button", name="Review my change").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(
        "Companies → Globex Corp!: Company ID: use the billing system's ID: lowercase letters"
    )
    expect(summary).not_to_contain_text("^[a-z0-9_-]")
    expect(summary.locator("code.path")).to_have_text("/companies/3/company_id")
    row = page.get_by_label("Company ID").last
    expect(row).to_have_value("Globex Corp!")
    # The message sits under the input, and the input is described by it for screen readers.
    expect(row.locator("xpath=..").locator(".rjf-error-text")).to_contain_text(
        "Company ID: use the billing system's ID"
    )
    expect(row).to_have_accessible_description(re.compile("Company ID: use the billing system"))
    expect(page.get_by_label("Timezone", exact=True).last).to_have_value("Asia/Tokyo")
    expect(page.get_by_label("Why are you making this change?")).to_have_value("Add Globex Corp")
    expect(page.get_by_role("button", name="Remove company Globex Corp!")).to_have_count(1)


def test_5_carol_bypasses_after_a_scheduled_version_and_keeps_her_reason(
    page, live_server, demo, alice, bob
):
    monday = next_monday()
    config = Config.objects.get(key="company-timezones")
    first = change_request_open(
        config=config,
        author=alice,
        value=globex_to_tokyo(config, monday),
        title="Globex moves to Tokyo on Monday",
        base_version=1,
    )
    change_request_approve(change_request=first, reviewer=bob)
    change_request_publish(change_request=first, actor=bob, effective_at=monday)
    value = copy.deepcopy(newest_version(config).value)
    value["companies"].append({"company_id": "umbrella", "timezone": "UTC"})
    second = change_request_open(
        config=config, author=alice, value=value, title="Add umbrella", base_version=2
    )
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, live_server, "carol", demo["carol"])
    page.goto(live_server.url + second.get_absolute_url())
    expect(page.locator("#time-note")).to_contain_text(
        f"Version 2 is scheduled for {in_words(monday)}"
    )
    when = page.locator("#bypass-effective-at")
    expect(when).to_have_value(f"{monday:%Y-%m-%d} 00:00")
    page.get_by_label("Bypass review").fill("Umbrella's contract starts Monday")
    when.fill("")  # she tries "now" first
    page.get_by_role("button", name="Publish without approval").click()

    expect(page.locator(".messagelist")).to_contain_text(
        f"Version 2 is scheduled for {in_words(monday)}"
    )
    expect(page.get_by_label("Bypass review")).to_have_value("Umbrella's contract starts Monday")
    expect(when).to_have_value(f"{monday:%Y-%m-%d} 00:00")
    page.get_by_role("button", name="Publish without approval").click()

    expect(page.locator(".messagelist")).to_contain_text("Published version 3")
    assert newest_version(config).bypass_reason == "Umbrella's contract starts Monday"
    assert newest_version(config).effective_at == monday


def test_6_dave_opening_an_edit_page_is_told_why_in_the_consoles_look(page, live_server, demo):
    log_in(page, live_server, "dave", demo["dave"])

    response = page.goto(live_server.url + TIMEZONES + "edit/")

    assert response.status == 403
    expect(page.locator("h1")).to_have_text("You cannot do this here")
    expect(page.locator("#refusal-reason")).to_contain_text(
        "You need the editor role in data-pipelines"
    )
    expect(page.locator(".console-nav")).to_be_visible()
    page.get_by_role("link", name="Browse configs").click()
    expect(page.locator("h1")).to_contain_text("Configs")
