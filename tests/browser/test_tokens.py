"""In real Chromium: alice makes a token for her pipeline, the pipeline reads with it, and once
alice revokes it the pipeline is refused."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def read_live_value(live_server, secret):
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/configs/data-pipelines/company-timezones/value/",
        headers={"Authorization": f"Bearer {secret}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_alice_makes_a_token_sees_it_once_and_revokes_it(page, live_server, demo):
    log_in(page, live_server, "alice", demo["alice"])
    page.get_by_role("link", name="API tokens").click()
    expect(page.locator(".empty")).to_contain_text("No tokens yet")

    page.get_by_label("Name").fill("nightly revenue pipeline")
    page.get_by_label("data-pipelines").check()
    page.get_by_role("button", name="Create token").click()

    secret = page.get_by_label("The new token").input_value()
    assert secret.startswith("cc_")
    assert "companies" in read_live_value(live_server, secret)
    page.reload()  # a reload shows the list: never the secret again, never a second token
    expect(page.locator("#tokens")).to_contain_text("nightly revenue pipeline")
    expect(page.locator("body")).not_to_contain_text(secret)

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()

    expect(page.locator(".messagelist")).to_contain_text("is revoked")
    expect(page.locator("#tokens")).to_contain_text("revoked")
    with pytest.raises(urllib.error.HTTPError) as refused:
        read_live_value(live_server, secret)
    assert refused.value.code == 401
