"""axe-core on the sign-in pages (the login page with a provider, groups and roles, people, the
empty state of a person without access): no serious violation, nothing wider than a phone."""

import pytest

from configs.models import Namespace
from identity.models import GroupRole, ProviderGroup
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def check(page, live_server, paths):
    found, wide = [], {}
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        found += serious_violations(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    return found, wide


def test_the_sign_in_pages_are_accessible_on_a_phone(
    browser, live_server, settings, demo, carol, erin, django_user_model
):
    settings.OIDC_ISSUER = "https://sso.example.invalid"
    settings.OIDC_PROVIDER_NAME = "Acme SSO"
    GroupRole.objects.create(
        group_name="pipeline-editors",
        namespace=Namespace.objects.get(slug="data-pipelines"),
        role="editor",
    )
    ProviderGroup.objects.create(name="marketing").members.add(erin)
    erin.set_password("erin-pass-2026")
    erin.save()
    django_user_model.objects.create_superuser("root", password="root-pass-2026")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()

    assert check(page, live_server, ["/accounts/login/"]) == ([], {})
    log_in(page, live_server, "carol", demo["carol"])
    assert check(page, live_server, ["/signin/groups/"]) == ([], {})
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "erin", "erin-pass-2026")
    assert check(page, live_server, ["/"]) == ([], {})
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "root", "root-pass-2026")
    assert check(page, live_server, ["/signin/people/", "/signin/groups/"]) == ([], {})
    context.close()
