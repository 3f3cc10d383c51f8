"""In Chromium, through a real OpenID provider (node's oidc-provider): people sign in with the
company's identity provider, their roles follow their groups, and a tampered or late answer is
refused with its reason in words."""

import re
import time
from urllib.parse import urljoin

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from audit.models import AuditEvent
from configs.models import Membership, Namespace
from identity.models import GroupRole, Identity

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = "/configs/data-pipelines/company-timezones/"


def sign_in_at_provider(page, login):
    """The provider's own pages: its login form, then its consent page (first time only)."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    continue_button = page.get_by_role("button", name="Continue")
    if continue_button.count():
        continue_button.click()


def sign_out(page):
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider's session too
    expect(page.get_by_role("heading", name="Sign in to Config Console")).to_be_visible()


@pytest.fixture
def mapping(demo):
    pipelines = Namespace.objects.get(slug="data-pipelines")
    GroupRole.objects.create(group_name="pipeline-editors", namespace=pipelines, role="editor")
    GroupRole.objects.create(group_name="pipeline-leads", namespace=pipelines, role="reviewer")
    return pipelines


def test_a_new_person_signs_in_returns_and_their_roles_follow_their_groups(
    sso_page, live_server, provider, mapping
):
    page = sso_page
    provider.add(
        "00u-frank",
        preferred_username="frank",
        email="frank@example.com",
        given_name="Frank",
        family_name="Ford",
        groups=["pipeline-editors", "everyone"],
    )

    page.goto(f"{live_server.url}{CONFIG}")  # not signed in: the login page, `next` kept
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "00u-frank")

    expect(page.get_by_text("Signed in as frank")).to_be_visible()
    assert page.url == f"{live_server.url}{CONFIG}"
    frank = get_user_model().objects.get(username="frank")
    assert (frank.email, frank.first_name, frank.has_usable_password()) == (
        "frank@example.com",
        "Frank",
        False,
    )
    assert Identity.objects.get(user=frank).subject == "00u-frank"
    assert Membership.objects.get(user=frank, namespace=mapping).role == "editor"
    assert AuditEvent.objects.filter(action="person.signed_up", actor=frank).exists()
    assert AuditEvent.objects.get(action="auth.login", actor=frank).details["with"] == "Acme SSO"

    sign_out(page)
    page.goto(f"{live_server.url}{CONFIG}")
    expect(page.get_by_role("heading", name="Sign in to Config Console")).to_be_visible()

    # At the provider, frank moves from the editors to the leads; his next sign-in says so.
    provider.add(
        "00u-frank",
        preferred_username="frank",
        email="frank@example.com",
        groups=["pipeline-leads"],
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "00u-frank")

    expect(page.get_by_text("Signed in as frank")).to_be_visible()
    assert get_user_model().objects.filter(username__startswith="frank").count() == 1
    assert Membership.objects.get(user=frank, namespace=mapping).role == "reviewer"
    event = AuditEvent.objects.filter(action="membership.mapped").latest("id")
    assert event.details["role"] == "reviewer" and event.details["previous_role"] == "editor"

    # Dropped from every mapped group: the role the mapping gave goes at the next sign-in.
    provider.add("00u-frank", preferred_username="frank", groups=["everyone"])
    sign_out(page)
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "00u-frank")
    expect(page.locator("#no-access")).to_contain_text("Your groups at Acme SSO (everyone)")
    expect(page.locator("#no-access")).to_contain_text("carol")
    assert not Membership.objects.filter(user=frank).exists()


def test_a_person_whose_groups_map_to_nothing_is_told_whom_to_ask(
    sso_page, live_server, provider, mapping
):
    page = sso_page
    provider.add("00u-nina", preferred_username="nina", groups=["marketing"])

    # A `next` pointing off the site is dropped: the sign-in ends on the console.
    page.goto(f"{live_server.url}/accounts/login/?next=https://evil.example/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "00u-nina")

    expect(page.get_by_text("Signed in as nina")).to_be_visible()
    assert page.url.startswith(live_server.url)
    no_access = page.locator("#no-access")
    expect(no_access).to_contain_text("Your groups at Acme SSO (marketing) give no role here yet")
    expect(no_access).to_contain_text("Ask carol (an admin)")


def hold_the_answer(page, live_server):
    """The provider's answer (the redirect to /oidc/callback/ with its code and state) is kept
    from the browser and handed to the test. Playwright cannot stop a redirect, so the form
    posts at the provider are sent by the test itself, in the browser's cookie jar, following
    the provider's redirects until one leads back to the console."""
    held = {}
    callback = f"{live_server.url}/oidc/callback/"

    def follow(route):
        response = route.fetch(max_redirects=0)
        while response.status in (302, 303) and not response.headers["location"].startswith(
            callback
        ):
            location = urljoin(response.url, response.headers["location"])
            response = page.request.get(location, max_redirects=0)
        location = response.headers.get("location", "")
        if location.startswith(callback):
            held["answer"] = location
            route.fulfill(status=200, content_type="text/html", body="<p>held</p>")
        else:
            route.fulfill(response=response)

    page.route(
        lambda url: "/interaction/" in url and "127.0.0.1" in url,
        lambda route: follow(route) if route.request.method == "POST" else route.continue_(),
    )
    return held


def test_an_answer_with_the_wrong_state_is_refused(sso_page, live_server, provider, demo):
    page = sso_page
    provider.add("00u-frank", preferred_username="frank")
    held = hold_the_answer(page, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "00u-frank")

    page.goto(re.sub(r"state=[^&]+", "state=forged", held["answer"]))

    expect(page.locator(".messagelist")).to_contain_text(
        "does not match a sign-in started in this browser"
    )
    expect(page.get_by_role("link", name="Sign in with Acme SSO")).to_be_visible()
    assert not get_user_model().objects.filter(username="frank").exists()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert "wrong or reused state" in event.reason


def test_an_expired_code_is_refused(sso_page, live_server, provider, demo):
    page = sso_page
    provider.add("late-larry", preferred_username="larry")  # codes last one second
    held = hold_the_answer(page, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    sign_in_at_provider(page, "late-larry")

    time.sleep(2)  # the code expires before the browser brings it back
    page.goto(held["answer"])

    expect(page.locator(".messagelist")).to_contain_text("it has expired or was already used")
    assert not get_user_model().objects.filter(username="larry").exists()
    assert "expired" in AuditEvent.objects.get(action="auth.login_failed").reason
