"""axe-core on every console page, as each persona sees it: no critical or serious violation.
And no page pushes a 390 px phone screen sideways."""

import copy

import pytest
from playwright.sync_api import expect

from configs.models import Config, Namespace
from configs.selectors import newest_version
from push.models import WebhookDelivery
from push.services import webhook_create
from reviews.services import change_request_open, schema_change_open
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

TIMEZONES = "/configs/data-pipelines/company-timezones/"
METRICS = "/configs/sales-ops/custom-metrics/"


def open_proposal(alice):
    config = Config.objects.get(key="company-timezones")
    value = newest_version(config).value
    value["companies"][1]["timezone"] = "Asia/Tokyo"
    return change_request_open(
        config=config, author=alice, value=value, title="Globex to Tokyo", base_version=1
    )


def pages_of(page, live_server, paths):
    found = []
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        found += serious_violations(page)
    return found


def test_no_serious_violation_on_any_page_an_editor_sees(page, live_server, demo, alice):
    proposal = open_proposal(alice)
    log_in(page, live_server, "alice", demo["alice"])

    found = pages_of(
        page,
        live_server,
        [
            "/",
            "/configs/",
            TIMEZONES,
            METRICS,
            "/configs/data-pipelines/warehouse-connections/",
            "/configs/sales-ops/legacy-fields/",
            TIMEZONES + "edit/",
            METRICS + "edit/",  # with the demo's override for Globex open
            "/configs/sales-ops/legacy-fields/edit/",
            TIMEZONES + "history/",
            TIMEZONES + "compare/?from=1&to=1",
            proposal.get_absolute_url(),
            f"/changes/{proposal.pk}/edit/",
            "/changes/mine/",
            "/changes/inbox/",
            "/schemas/",
            "/schemas/company-timezones/",
            "/audit/",
            "/tokens/",
            "/settings/",
            "/no-such-page/",
        ],
    )

    assert found == []


def test_no_serious_violation_on_the_schema_and_new_config_pages(page, live_server, demo, carol):
    timezones = Config.objects.get(key="company-timezones")
    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["companies"]["items"]["properties"]["owner_team"] = {
        "type": "string",
        "title": "Owner team",
        "default": "data",
    }
    schema_change = schema_change_open(
        schema=timezones.schema,
        author=carol,
        body=body,
        base_version=1,
        title="Every company has an owner team",
    )
    without_default = copy.deepcopy(body)
    del without_default["properties"]["companies"]["items"]["properties"]["owner_team"]["default"]
    without_default["properties"]["companies"]["items"]["required"].append("owner_team")
    draft = schema_change_open(
        schema=timezones.schema,
        author=carol,
        body=without_default,
        base_version=1,
        title="Owner teams, to fix by hand",
        draft=True,
    )
    log_in(page, live_server, "carol", demo["carol"])

    found = pages_of(
        page,
        live_server,
        [
            "/schemas/company-timezones/edit/",
            "/schemas/company-timezones/history/",
            schema_change.get_absolute_url(),
            draft.get_absolute_url(),
            f"{draft.get_absolute_url()}values/{timezones.pk}/",
            f"{draft.get_absolute_url()}edit/",
            "/configs/new/",
            "/schemas/",
            "/schemas/new/",
        ],
    )

    assert found == []


def test_no_serious_violation_while_starting_a_schema_from_an_example(page, live_server, demo):
    log_in(page, live_server, "carol", demo["carol"])
    page.goto(live_server.url + "/schemas/")
    page.get_by_role("link", name="New schema").click()
    page.get_by_label("Name").fill("holiday-calendar")
    page.get_by_label("Example value (JSON)").fill('{"holidays": [{"date": "2026-12-25"}]}')
    page.get_by_role("button", name="Propose a schema from the example").click()
    expect(page.locator("#schema-preview").get_by_label("Date")).to_have_value("2026-12-25")
    found = serious_violations(page)

    page.get_by_label("JSON Schema").fill('{"type": "object",}')
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#error-summary")).to_be_visible()
    found += serious_violations(page)

    page.set_viewport_size({"width": 390, "height": 844})
    assert found == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_no_serious_violation_on_the_webhook_pages_of_a_namespace_admin(
    page, live_server, demo, carol, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    sales_ops = Namespace.objects.get(slug="sales-ops")
    webhook, _secret = webhook_create(
        namespace=sales_ops,
        url="http://127.0.0.1:9/hook",
        events=["version.published"],
        actor=carol,
    )
    WebhookDelivery.objects.create(webhook=webhook, event="version.published", body="{}")
    log_in(page, live_server, "carol", demo["carol"])

    found = pages_of(page, live_server, ["/webhooks/", "/namespaces/sales-ops/webhooks/"])

    assert found == []


def test_no_serious_violation_while_editing_a_list_and_a_time(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.goto(live_server.url + METRICS + "edit/")
    page.get_by_role("button", name="Add metric").first.click()
    found = serious_violations(page)

    page.goto(live_server.url + TIMEZONES + "edit/")
    switch_over = page.get_by_label("Switch over at").first
    switch_over.click()
    switch_over.fill("2026-11-3")
    found += serious_violations(page)
    page.get_by_label("Company ID").first.fill("Globex Corp!")
    page.get_by_label("Why are you making this change?").fill("Check the messages")
    page.get_by_role("button", name="Review my change").click()
    expect(page.locator("#error-summary")).to_be_visible()
    found += serious_violations(page)

    assert found == []


@pytest.mark.parametrize("who", ["bob", "carol", "dave"])
def test_no_serious_violation_on_the_pages_of_reviewers_admins_and_viewers(
    page, live_server, demo, alice, who
):
    proposal = open_proposal(alice)
    log_in(page, live_server, who, demo[who])

    found = pages_of(
        page,
        live_server,
        ["/", proposal.get_absolute_url(), TIMEZONES, TIMEZONES + "edit/", "/changes/inbox/"],
    )

    assert found == []


def test_no_page_scrolls_sideways_on_a_390_px_screen(browser, live_server, demo, alice):
    proposal = open_proposal(alice)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "alice", demo["alice"])
    wide = {}
    for path in [
        "/",
        "/configs/",
        TIMEZONES,
        TIMEZONES + "edit/",
        TIMEZONES + "history/",
        proposal.get_absolute_url(),
        "/changes/mine/",
        "/audit/",
        "/schemas/",
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    context.close()

    assert wide == {}
