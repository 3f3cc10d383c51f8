"""In real Chromium: values for some customers, edited in words with the keyboard alone."""

import json
import re

import pytest
from playwright.sync_api import expect

from reviews.models import ChangeRequest
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "/configs/data-pipelines/company-timezones/"


def focused(page) -> str:
    """The label of the input that has the focus, or the text of the focused button."""
    return page.evaluate(
        """() => { const el = document.activeElement;
            return el.labels && el.labels.length ? el.labels[0].textContent : el.textContent; }"""
    )


def test_alice_gives_globex_and_initech_their_own_value_with_the_keyboard_alone(
    page, live_server, demo
):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + TIMEZONES + "edit/")
    page.wait_for_load_state("networkidle")

    page.get_by_role("button", name="Add a value for some customers").focus()
    page.keyboard.press("Enter")
    # Focus moves to what was just added: the new override's name.
    assert focused(page) == "Name"
    page.keyboard.type("globex-and-initech")
    page.keyboard.press("Tab")
    assert focused(page) == "Attribute"
    expect(page.locator(":focus")).to_have_value("company")
    page.keyboard.press("Tab")
    assert focused(page) == "Operator"
    expect(page.locator(":focus")).to_have_value("in")  # "is one of"
    page.keyboard.press("Tab")
    assert focused(page) == "Values"
    expect(page.locator(":focus")).to_have_accessible_description(
        "One per line; a value may contain commas."
    )
    page.keyboard.type("globex\ninitech")
    card = page.locator("[data-override]")
    expect(card.locator(".override-title")).to_have_text("Override 1: globex-and-initech")
    # The override's value, in the same schema form as the value: Acme's timezone, by keyboard.
    override_form = card.locator(".override-value")
    override_form.get_by_label("Timezone", exact=True).first.focus()
    page.keyboard.type("UTC")
    expect(override_form.get_by_label("Timezone", exact=True).first).to_have_value("UTC")

    # For engineers: the overrides as JSON, one keypress away, as the editor has them now.
    page.get_by_text("Show as JSON").focus()
    page.keyboard.press("Enter")
    as_json = page.get_by_label("Values for some customers, as JSON")
    expect(as_json).to_have_value(re.compile(r'"name": "globex-and-initech"'))
    shown = json.loads(as_json.input_value())
    assert shown[0]["when"] == [
        {"attribute": "company", "op": "in", "values": ["globex", "initech"]}
    ]
    assert shown[0]["value"]["companies"][0]["timezone"] == "UTC"

    assert serious_violations(page) == []

    page.get_by_label("Why are you making this change?").focus()
    page.keyboard.type("Globex and Initech compute their metrics in UTC")
    page.keyboard.press("Enter")
    sentence = (
        "For companies globex, initech: Companies → acme → Timezone: America/Los_Angeles → UTC"
    )
    expect(page.locator("#preview")).to_contain_text(sentence)
    page.get_by_role("button", name="Confirm and submit for review").focus()
    page.keyboard.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    expect(page.locator("#content-main")).to_contain_text(sentence)
    change = ChangeRequest.objects.get().change
    assert change.overrides[0]["when"] == [
        {"attribute": "company", "op": "in", "values": ["globex", "initech"]}
    ]
    assert change.overrides[0]["value"]["companies"][0]["timezone"] == "UTC"
    assert change.value == change.base_version.value


def test_a_split_must_add_up_to_100_and_the_servers_refusals_show_beside_it(
    page, live_server, demo
):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + TIMEZONES + "edit/")
    page.wait_for_load_state("networkidle")

    page.get_by_role("button", name="Add a percentage split").focus()
    page.keyboard.press("Enter")
    card = page.locator("[data-override]")
    # Only for customers whose email matches either of two patterns (one has a comma in it).
    card.get_by_role("button", name="Add a condition").click()
    card.get_by_label("Attribute", exact=True).fill("email")
    card.get_by_label("Operator").select_option("matches")
    patterns = card.get_by_label("Values")
    expect(patterns).to_have_accessible_description(
        "A regular expression, e.g. ^acme-. One per line: any one matches."
    )
    patterns.fill("@acme\\.com$\n^[a-z]{2,8}-test$")
    card.get_by_label("Percentage").first.fill("10")
    expect(card.locator(".split-total")).to_have_text(
        "The percentages add up to 60%: they must add up to 100%."
    )
    page.get_by_label("Why are you making this change?").fill("Try UTC on a tenth of customers")
    page.get_by_role("button", name="Review my change").click()

    # Refused in the browser: nothing was sent, and the focus is on the first percentage.
    expect(card.locator(".split-total")).to_be_visible()
    assert focused(page) == "Percentage"
    card.get_by_label("Percentage").nth(1).fill("90")
    expect(card.locator(".split-total")).to_have_text("The percentages add up to 100%.")
    page.get_by_role("button", name="Review my change").click()

    # The name was left empty: the server says so beside the override, and keeps what was typed.
    card = page.locator("[data-override]")
    expect(card.locator("ul.errorlist", has_text="Override 1 needs a name.")).to_be_visible()
    expect(card.get_by_label("Percentage").first).to_have_value("10")
    expect(card.get_by_label("Percentage").nth(1)).to_have_value("90")
    expect(card.get_by_label("Values")).to_have_value("@acme\\.com$\n^[a-z]{2,8}-test$")
    assert ChangeRequest.objects.count() == 0

    card.get_by_label("Name", exact=True).fill("rollout")
    page.get_by_role("button", name="Review my change").click()
    page.get_by_role("button", name="Confirm and submit for review").click()
    expect(page.locator(".messagelist")).to_contain_text("submitted for review")
    assert ChangeRequest.objects.get().change.overrides[0]["when"] == [
        {"attribute": "email", "op": "matches", "values": ["@acme\\.com$", "^[a-z]{2,8}-test$"]}
    ]


def test_overrides_are_moved_and_removed_with_the_keyboard_and_untouched_ones_change_nothing(
    page, live_server, demo
):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + "/configs/sales-ops/custom-metrics/edit/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Why are you making this change?").fill("Initech first")
    # The demo's override for Globex is folded to a line in words; sent back as it is, it is
    # no change.
    expect(page.locator("[data-override] summary")).to_have_text(
        "Override 1: globex. For company globex"
    )
    page.get_by_role("button", name="Review my change").click()
    expect(page.locator("#error-summary")).to_contain_text("Nothing has changed yet")

    page.get_by_role("button", name="Add a value for some customers").focus()
    page.keyboard.press("Enter")
    page.keyboard.type("initech")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    # One value per line: a company's name may hold a comma.
    page.keyboard.type("initech\nInitech, Inc.")
    expect(page.get_by_role("button", name="Move globex up")).to_have_count(0)
    page.get_by_role("button", name="Move initech up").focus()
    page.keyboard.press("Enter")

    # Initech is first now: it cannot move further up, so the focus is on moving it down.
    titles = page.locator("[data-override] .override-title")
    expect(titles).to_have_text(["Override 1: initech", "Override 2: globex"])
    assert focused(page) == "Move initech down"
    page.get_by_role("button", name="Remove globex").focus()
    page.keyboard.press("Enter")
    expect(titles).to_have_text(["Override 1: initech"])
    assert focused(page) == "Override 1: initech"  # the override before the one removed

    # An engineer edits the overrides as JSON instead: the box starts from the editor's state.
    page.get_by_text("Show as JSON").click()
    page.get_by_role("button", name="Edit the overrides as JSON instead").click()
    box = page.get_by_label("Values for some customers (overrides, as JSON)")
    expect(box).to_be_focused()
    expect(page.locator("[data-overrides-list]")).to_be_hidden()
    edited = json.loads(box.input_value())
    assert edited[0]["when"][0]["values"] == ["initech", "Initech, Inc."]
    edited[0]["when"][0]["values"].append("Initech GmbH")
    box.fill(json.dumps(edited))
    page.get_by_role("button", name="Review my change").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text(
        "For company globex: no value of their own any more (override globex removed)"
    )
    expect(preview).to_contain_text(
        "For companies initech, Initech, Inc., Initech GmbH: the same value as everyone else"
    )
