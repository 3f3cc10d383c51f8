"""The change request lists (my reviews, my changes) page by keyset: "Older →" and "← Newer",
each change request shown once, and a deep page makes the same queries as the first."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs.models import Config
from configs.selectors import versions_of
from reviews.models import Change, ChangeRequest, changes_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_of_alices(alice):
    """130 change requests of alice's in review, 40 of them updated at the very same instant."""
    config = Config.objects.get(namespace__slug="data-pipelines", key="company-timezones")
    base = versions_of(config).order_by("-number").first()
    now = timezone.now()
    for n in range(130):
        cr = ChangeRequest.objects.create(author=alice, title=f"cr{n}", status="in_review")
        change = Change.objects.create(
            change_request=cr,
            config=config,
            base_version=base,
            value={"companies": [{"company_id": f"c{n}", "timezone": "UTC"}]},
        )
        ChangeRequest.objects.filter(pk=cr.pk).update(
            proposal_hash=changes_hash([change]),
            updated_at=now if n < 40 else now - timedelta(minutes=n),
            created_at=now if n < 40 else now - timedelta(minutes=200 - n),
        )


def titles(response, heading: str) -> list[str]:
    section = response.content.decode().split(f"<h2>{heading}</h2>")[1].split("</section>")[0]
    return re.findall(r"\bcr\d+\b", section)


def link(response, rel: str, path: str) -> str:
    found = re.search(rf'href="\?([^"]*)" rel="{rel}"', response.content.decode())
    assert found, f"no {rel} link"
    return path + "?" + html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("who", "path", "heading"),
    [
        ("alice", "/changes/mine/", "My change requests"),
        ("bob", "/changes/inbox/", "Waiting for my review"),
    ],
)
def test_older_pages_show_every_change_request_once(
    client, alice, bob, many_of_alices, who, path, heading
):
    client.force_login({"alice": alice, "bob": bob}[who])
    pages = [client.get(path)]
    while 'rel="next"' in pages[-1].content.decode():
        pages.append(client.get(link(pages[-1], "next", path)))
    shown = [title for page in pages for title in titles(page, heading)]

    assert len(pages) == 6
    assert sorted(shown) == sorted(f"cr{n}" for n in range(130))
    back = client.get(link(pages[-1], "prev", path))
    assert titles(back, heading) == titles(pages[-2], heading)
    assert "Newer" not in pages[0].content.decode()


def test_a_deep_page_of_my_changes_makes_the_same_queries_as_the_first(
    client, alice, many_of_alices
):
    client.force_login(alice)
    client.get("/changes/mine/")  # warm: session, content types
    with CaptureQueriesContext(connection) as on_first:
        page = client.get("/changes/mine/")
    for _ in range(3):
        page = client.get(link(page, "next", "/changes/mine/"))
    with CaptureQueriesContext(connection) as on_deep:
        deep = client.get(link(page, "next", "/changes/mine/"))

    assert len(titles(deep, "My change requests")) == 25
    assert len(on_deep) == len(on_first)
    assert not [query["sql"] for query in on_deep if "OFFSET" in (query["sql"] or "").upper()]
