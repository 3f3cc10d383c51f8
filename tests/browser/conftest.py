"""Shared steps of the browser tests."""

import pytest
from playwright.sync_api import expect


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}", exact=False)).to_be_visible()


@pytest.fixture
def new_york(browser):
    """A browser whose own zone is New York: the console must not use it unannounced."""
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    yield context.new_page()
    context.close()
