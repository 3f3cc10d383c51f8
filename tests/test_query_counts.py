"""Every console page and API list makes as many queries with more data as with little.

Each case is measured on the demo grown a little, then again after the data grew tenfold (more
configs, versions of the busiest config, change requests in every state, reviews, comments,
audit events): the count must not change. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from common.keyset import cursor_for
from configs.models import Config, Namespace, Version
from configs.selectors import versions_of
from reviews.models import (
    Change,
    ChangeRequest,
    Comment,
    Review,
    changes_hash,
)
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

HOT = "/configs/data-pipelines/company-timezones/"
API = "/api/v1"
serial = itertools.count(1)
# Cursors of pages past the first (common.keyset): versions below 3; events before tomorrow.
OLDER_THAN_VERSION_3 = cursor_for([3], backwards=False)
OLDER_THAN_TOMORROW = cursor_for([timezone.now() + timedelta(days=1), 10**9], backwards=False)


def timezones_value(n: int) -> dict:
    return {"companies": [{"company_id": f"company-{n}", "timezone": "UTC"}]}


def grow(
    *,
    configs: int,
    versions: int,
    change_requests: int,
    events: int,
    alice,
    bob,
    schema_changes: int = 0,
) -> None:
    """Add configs to data-pipelines, versions to company-timezones, change requests in every
    state on it (with reviews and comments), schema changes waiting for review and audit
    events."""
    namespace = Namespace.objects.get(slug="data-pipelines")
    hot = Config.objects.get(namespace=namespace, key="company-timezones")
    now = timezone.now() - timedelta(hours=1)
    for _ in range(configs):
        n = next(serial)
        config = Config.objects.create(
            namespace=namespace, key=f"grown-{n}", name=f"Grown {n}", schema=hot.schema
        )
        config.owners.set([bob])
        Version.objects.create(
            config=config,
            number=1,
            value=timezones_value(n),
            effective_at=now,
            published_at=now,
            published_by=bob,
        )
    newest = versions_of(hot).order_by("-number").first()
    for number in range(newest.number + 1, newest.number + 1 + versions):
        newest = Version.objects.create(
            config=hot,
            number=number,
            value=timezones_value(number),
            effective_at=now,
            published_at=now,
            published_by=bob,
        )
    states = itertools.cycle(
        ["in_review", "changes_requested", "approved", "draft", "rejected", "withdrawn"]
    )
    for _ in range(change_requests):
        n = next(serial)
        value = timezones_value(10_000 + n)
        cr = ChangeRequest.objects.create(author=alice, title=f"Change {n}", status=next(states))
        change = Change.objects.create(
            change_request=cr, config=hot, base_version=newest, value=value
        )
        cr.proposal_hash = changes_hash([change])
        cr.save(update_fields=["proposal_hash"])
        verdict = {"changes_requested": "request_changes", "approved": "approve"}.get(cr.status)
        if verdict:
            Review.objects.create(
                change_request=cr,
                reviewer=bob,
                verdict=verdict,
                proposal_hash=cr.proposal_hash,
                revision=1,
            )
        Comment.objects.create(change_request=cr, author=bob, body="Which teams?")
    schema_version = hot.schema.versions.order_by("-number").first()
    for _ in range(schema_changes):
        n = next(serial)
        body = {**hot.schema.body, "title": f"Change {n}"}
        cr = ChangeRequest.objects.create(author=alice, title=f"Schema change {n}")
        Change.objects.create(
            change_request=cr,
            kind=Change.Kind.SCHEMA,
            schema=hot.schema,
            schema_base_version=schema_version,
            body=body,
        )
        item = Change.objects.create(
            change_request=cr, config=hot, base_version=newest, value=newest.value
        )
        cr.proposal_hash = changes_hash([item], body)
        cr.save(update_fields=["proposal_hash"])
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=bob,
            actor_name="bob",
            action="change_request.commented",
            namespace="data-pipelines",
            config="company-timezones",
            target_type="reviews.changerequest",
            target_id="1",
            target_repr="#1",
        )
        for _ in range(events)
    )


def small(alice, bob):
    grow(configs=2, versions=2, change_requests=6, events=5, alice=alice, bob=bob, schema_changes=2)


def large(alice, bob):
    grow(
        configs=30,
        versions=40,
        change_requests=60,
        events=120,
        alice=alice,
        bob=bob,
        schema_changes=20,
    )


def statements(sqls: list[str]) -> list[str]:
    """`sqls`, each bulk insert counted once. SQLite takes at most 999 parameters a statement,
    so Django splits an insert of many rows (a version of each config in each environment) into
    several statements; PostgreSQL's is one COPY whatever the rows (and it counts every
    statement: an insert made row by row would still show there)."""
    kept: list[str] = []
    for sql in sqls:
        table = sql.split(" (", 1)[0] if sql.startswith("INSERT INTO ") else None
        if connection.vendor == "sqlite" and table and kept and kept[-1].startswith(table + " ("):
            continue
        kept.append(sql)
    return kept


def queries(client, path: str) -> int:
    client.get(path)  # warm: sessions, content types
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


def open_change_request_path() -> str:
    cr = ChangeRequest.objects.filter(status="in_review").order_by("id").first()
    return f"/changes/{cr.pk}/"


PAGES = [
    ("bob", "/"),
    ("bob", "/changes/inbox/"),
    ("alice", "/changes/mine/"),
    ("bob", "/configs/"),
    ("bob", "/configs/?namespace=data-pipelines"),
    ("bob", HOT),
    ("alice", HOT + "edit/"),
    ("bob", HOT + "history/"),
    ("bob", HOT + "history/?cursor=" + OLDER_THAN_VERSION_3),
    ("bob", HOT + "versions/2/"),
    ("bob", HOT + "?environment=staging"),
    ("bob", HOT + "history/?environment=staging"),
    ("alice", HOT + "edit/?environment=staging"),
    ("bob", "change request"),
    ("alice", "change request edit"),
    ("bob", "/schemas/"),
    ("bob", "/schemas/company-timezones/"),
    ("carol", "/schemas/new/"),
    ("bob", "/audit/"),
    ("bob", "/audit/?actor=bob"),
    ("bob", "/audit/?action=change_request"),
    ("bob", "/audit/?namespace=data-pipelines&cursor=" + OLDER_THAN_TOMORROW),
    ("bob", "/audit/export.csv?namespace=data-pipelines"),
    ("bob", "/audit/export.jsonl?namespace=data-pipelines"),
    ("carol", "/tokens/"),
    ("bob", "/namespaces/data-pipelines/drift/"),
    ("bob", "/namespaces/data-pipelines/drift/?from=development&to=production"),
]


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_console_page_makes_as_many_queries_with_ten_times_the_data(
    client, alice, bob, carol, who, path
):
    client.force_login({"alice": alice, "bob": bob, "carol": carol}[who])
    small(alice, bob)
    resolved = {
        "change request": open_change_request_path,
        "change request edit": lambda: open_change_request_path() + "edit/",
    }.get(path, lambda: path)()
    before = queries(client, resolved)

    large(alice, bob)

    assert queries(client, resolved) == before


APIS = [
    API + "/configs/data-pipelines/company-timezones/",
    API + "/configs/data-pipelines/company-timezones/versions/",
    API
    + "/configs/data-pipelines/company-timezones/versions/?page_size=2&cursor="
    + OLDER_THAN_VERSION_3,
    API + "/namespaces/data-pipelines/bundle/",
    API + "/audit/",
    API + "/audit/?actor=bob",
    API + "/audit/?action=change_request",
    API + "/namespaces/data-pipelines/drift/?from=staging&to=production",
    API + "/configs/data-pipelines/company-timezones/consumers/",
    API + "/environments/",
    "change request",
]


@pytest.mark.parametrize("path", APIS)
def test_api_list_makes_as_many_queries_with_ten_times_the_data(alice, bob, path):
    _token, secret = make_token(bob, "data-pipelines", "sales-ops")
    api = client_for(secret)
    small(alice, bob)
    resolved = path
    if path == "change request":
        resolved = API + "/change-requests/" + open_change_request_path().split("/")[2] + "/"
    before = queries(api, resolved)

    large(alice, bob)

    assert queries(api, resolved) == before


def test_export_configs_makes_as_many_queries_with_ten_times_the_configs(
    alice, bob, tmp_path, django_assert_max_num_queries
):
    small(alice, bob)
    with CaptureQueriesContext(connection) as first:
        call_command("export_configs", str(tmp_path / "a"), stdout=io.StringIO())

    large(alice, bob)

    with CaptureQueriesContext(connection) as second:
        call_command("export_configs", str(tmp_path / "b"), stdout=io.StringIO())
    assert len(second) == len(first)
    written = list((tmp_path / "b" / "configs" / "data-pipelines").glob("grown-*.json"))
    assert len(written) == 32


def test_a_schema_change_page_and_read_make_as_many_queries_with_ten_times_the_configs(
    alice, bob, carol, client
):
    """A schema thousands of configs use gives a schema change with thousands of values."""
    from reviews import services as review_services
    from tests.api.test_schema_change_addresses import owner_team

    hot = Config.objects.select_related("schema", "namespace").get(key="company-timezones")

    def on_the_schema(count: int) -> None:
        for _ in range(count):
            n = next(serial)
            config = Config.objects.create(
                namespace=hot.namespace, key=f"zones-{n}", name=f"Zones {n}", schema=hot.schema
            )
            Version.objects.create(
                config=config,
                number=1,
                value=timezones_value(n),
                effective_at=timezone.now(),
                published_at=timezone.now(),
                published_by=alice,
            )

    def measured() -> tuple[int, int]:
        change = review_services.schema_change_open(
            schema=hot.schema,
            author=carol,
            body=owner_team(hot.schema.body),
            base_version=hot.schema.versions.latest("number").number,
            title="Owner teams",
        )
        api = client_for(make_token(bob, "data-pipelines")[1])
        page = queries(client, f"/changes/{change.pk}/")
        read = queries(api, f"{API}/change-requests/{change.pk}/")
        review_services.change_request_withdraw(change_request=change, actor=carol)
        return page, read

    client.force_login(bob)
    on_the_schema(2)
    before = measured()

    on_the_schema(30)

    assert measured() == before


class Undo(Exception):
    pass


def test_a_schema_change_over_two_namespaces_makes_as_many_queries_with_ten_times_the_configs(
    client, bob, carol, timezones
):
    """Publishing, the page and the API read, before and after publishing, with 3 and then 30
    configs in two namespaces of different policies (sales-ops asks for each config's owner)."""
    from reviews import services as review_services
    from tests.reviews.test_schema_change_gate import (
        on_the_schema,
        open_change,
        reviewer_of_both,
        spread,
    )

    grace = reviewer_of_both("grace")
    api = client_for(make_token(bob, "data-pipelines", "sales-ops")[1])
    client.force_login(bob)

    def measured() -> dict[str, int]:
        counts = {}
        try:
            with transaction.atomic():
                change = open_change(timezones, carol)
                for person in (bob, grace):
                    review_services.change_request_approve(change_request=change, reviewer=person)
                page = f"/changes/{change.pk}/"
                read = f"{API}/change-requests/{change.pk}/"
                counts["page"] = queries(client, page)
                counts["read"] = queries(api, read)
                with CaptureQueriesContext(connection) as publishing:
                    review_services.change_request_publish(change_request=change, actor=bob)
                counts["publish"] = len(statements([q["sql"] for q in publishing]))
                counts["page, published"] = queries(client, page)
                counts["read, published"] = queries(api, read)
                counts["configs"] = (
                    change.changes.filter(config__isnull=False, published_version__isnull=False)
                    .values("config_id")
                    .distinct()
                    .count()
                )
                raise Undo
        except Undo:
            pass
        return counts

    spread(timezones, bob, grace, 3)
    few = measured()
    on_the_schema(timezones, timezones.namespace, [f"more-{n}" for n in range(13)], [bob])
    sales = Namespace.objects.get(slug="sales-ops")
    on_the_schema(timezones, sales, [f"more-{n}" for n in range(14)], [bob])
    many = measured()

    assert (few.pop("configs"), many.pop("configs")) == (3, 30)
    assert many == few, (few, many)
