"""In real Chromium: bob copies the preview variable from alice's change request page and a
pipeline run with it reads the proposal, before anyone approved it."""

import copy
import warnings

import pytest
from config_console_client import ConfigClient, PreviewWarning
from playwright.sync_api import expect

from configs.models import Namespace
from configs.selectors import newest_version
from configs.services import token_create
from reviews.services import change_request_open
from tests.browser.test_edit_through_form import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_bob_copies_the_preview_variable_and_a_pipeline_reads_the_proposal(
    page, live_server, demo, alice, bob, timezones, tmp_path, monkeypatch
):
    value = copy.deepcopy(newest_version(timezones).value)
    value["companies"][0]["timezone"] = "UTC"
    cr = change_request_open(
        config=timezones, author=alice, value=value, title="Acme in UTC", base_version=1
    )
    namespaces = list(Namespace.objects.filter(slug="data-pipelines"))
    _token, secret = token_create(user=bob, name="bob's notebook", namespaces=namespaces)

    log_in(page, live_server, "bob", demo["bob"])
    page.goto(live_server.url + cr.get_absolute_url())
    expect(page.locator("#try-it")).to_contain_text("Try it before approval")
    page.locator('[data-copy="#try-env"]').click()
    expect(page.locator('[data-copy="#try-env"]')).to_have_text("Copied")
    name, _, setting = page.locator("#try-env").input_value().partition("=")

    assert name == "CONFIG_CONSOLE_PREVIEW"
    monkeypatch.setenv(name, setting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        configs = ConfigClient(live_server.url, secret, cache_dir=tmp_path)
    assert configs.get("data-pipelines", "company-timezones") == value

    page.locator("#try-permalink").click()
    expect(page.locator("body")).to_contain_text('"title":"Acme in UTC"')
