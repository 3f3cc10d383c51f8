"""The API's lists page by cursor: `next` and `previous` are addresses to follow, and a page far
down a long list makes the same queries as the first, none of them with an OFFSET."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from configs.models import Config, Version
from configs.selectors import versions_of

pytestmark = pytest.mark.django_db

VERSIONS = "/api/v1/configs/data-pipelines/company-timezones/versions/"
AUDIT = "/api/v1/audit/"


@pytest.fixture
def long_history(bob):
    """company-timezones with 120 versions more."""
    config = Config.objects.get(namespace__slug="data-pipelines", key="company-timezones")
    newest = versions_of(config).order_by("-number").first().number
    now = timezone.now() - timedelta(hours=1)
    Version.objects.bulk_create(
        Version(
            config=config,
            number=number,
            value={"companies": [{"company_id": f"c{number}", "timezone": "UTC"}]},
            effective_at=now,
            published_at=now,
            published_by=bob,
        )
        for number in range(newest + 1, newest + 121)
    )
    return config


@pytest.fixture
def many_events():
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=now if n < 60 else now - timedelta(minutes=n),  # 60 at the very same instant
            actor_name="alice",
            action="change_request.commented",
            namespace="data-pipelines",
            config="company-timezones",
            reason=f"n{n}",
        )
        for n in range(300)
    )


def every_page(api, address: str) -> list[dict]:
    pages = []
    while address:
        body = api.get(address).json()
        pages.append(body)
        address = body["next"]
    return pages


def test_following_next_reads_every_version_once_newest_first(alice_reads, long_history):
    pages = every_page(alice_reads, VERSIONS + "?page_size=25")
    numbers = [version["version"] for page in pages for version in page["results"]]

    assert (
        numbers == sorted(versions_of(long_history).active().values_list("number", flat=True))[::-1]
    )
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    assert {page["count"] for page in pages} == {len(numbers)}
    assert set(pages[0]) == {"count", "next", "previous", "results"}


def test_previous_leads_back_to_the_page_before(alice_reads, long_history):
    first = alice_reads.get(VERSIONS, {"page_size": 10}).json()
    second = alice_reads.get(first["next"]).json()
    third = alice_reads.get(second["next"]).json()

    back = alice_reads.get(third["previous"]).json()
    start = alice_reads.get(back["previous"]).json()

    assert back["results"] == second["results"]
    assert start["results"] == first["results"]
    assert start["previous"] is None
    assert "cursor=" in back["next"] and "page_size=10" in back["next"]


def test_events_of_one_instant_are_each_listed_once(alice_reads, many_events):
    pages = every_page(alice_reads, AUDIT + "?action=change_request.commented&page_size=7")
    reasons = [event["reason"] for page in pages for event in page["results"]]

    assert sorted(reasons) == sorted(f"n{n}" for n in range(300))


@pytest.mark.parametrize(
    ("address", "fixture"), [(VERSIONS, "long_history"), (AUDIT, "many_events")]
)
def test_a_deep_page_makes_the_same_queries_as_the_first_and_no_offset(
    request, alice_reads, address, fixture
):
    request.getfixturevalue(fixture)
    alice_reads.get(address, {"page_size": 10})  # warm
    with CaptureQueriesContext(connection) as on_first:
        body = alice_reads.get(address, {"page_size": 10}).json()
    for _ in range(8):
        body = alice_reads.get(body["next"]).json()
    with CaptureQueriesContext(connection) as on_deep:
        deep = alice_reads.get(body["next"])

    assert deep.status_code == 200 and len(deep.json()["results"]) == 10
    assert len(on_deep) == len(on_first)
    assert not [query["sql"] for query in on_deep if "OFFSET" in (query["sql"] or "").upper()]


@pytest.mark.parametrize("cursor", ["x", "eyJrIjpbXX0", "eyJrIjpbInR3byJdLCJiIjowfQ"])
def test_a_cursor_the_list_did_not_give_is_a_400_naming_it(alice_reads, cursor):
    response = alice_reads.get(VERSIONS, {"cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_a_page_number_is_refused_in_words(alice_reads):
    response = alice_reads.get(VERSIONS, {"page": "2"})

    assert response.status_code == 400
    assert "next" in response.json()["detail"]
    assert alice_reads.get(VERSIONS, {"page": "1"}).status_code == 200
