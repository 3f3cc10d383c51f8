"""The four demo people walk every console page they can reach from the dashboard (following
links, as the PM walk did): none answers a server error, axe-core finds nothing critical or
serious, and the browser logs no Content-Security-Policy refusal."""

from urllib.parse import urldefrag, urlsplit

import pytest

from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import open_proposal

pytestmark = pytest.mark.django_db(transaction=True)

# Left out: sign-out, the admin (Django's own), the API and its documents (Swagger UI is a
# third-party page no console page links to; see the README), files to download, and the
# sign-in provider. Links that only change a list's order or page are visited once per page.
LEFT_OUT = ("/accounts/logout", "/admin/", "/api/", "/static/", "/oidc/", "/scim/")
MOST_PAGES = 80


def reachable(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        href = urldefrag(href)[0]
        parts = urlsplit(href)
        if not href.startswith(base) or parts.path.startswith(LEFT_OUT):
            continue
        if "export" in parts.path or "format=" in parts.query or "download" in parts.path:
            continue
        found.append(href)
    return found


def walk(page, live_server) -> tuple[list[str], int]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text[:120]}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    seen: set[str] = set()
    shapes: set[tuple[str, tuple[str, ...]]] = set()
    waiting = [live_server.url + "/"]
    found: list[str] = []
    while waiting and len(seen) < MOST_PAGES:
        url = waiting.pop(0)
        parts = urlsplit(url)
        shape = (parts.path, tuple(sorted(p.split("=")[0] for p in parts.query.split("&") if p)))
        if url in seen or shape in shapes:
            continue
        seen.add(url)
        shapes.add(shape)
        response = page.goto(url)
        if response is not None and response.status >= 500:
            found.append(f"{url}: answered {response.status}")
        page.wait_for_load_state("networkidle")
        found += serious_violations(page)
        waiting += [link for link in reachable(page, live_server.url) if link not in seen]
    return found + refused, len(seen)


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "dave"])
def test_every_page_a_demo_person_reaches_passes_axe_without_csp_refusals(
    page, live_server, demo, alice, who
):
    open_proposal(alice)
    log_in(page, live_server, who, demo[who])

    found, visited = walk(page, live_server)

    print(f"{who}: {visited} pages, {len(found)} findings")
    assert visited > 10
    assert found == []
