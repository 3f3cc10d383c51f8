"""The audit log page: what each person sees, filters, pages, and a fixed number of queries."""

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from audit.selectors import filtered_events
from configs import services as config_services
from configs.models import Namespace, Role

pytestmark = pytest.mark.django_db


def event(
    namespace="sales-ops",
    config="custom-metrics",
    action="change_request.commented",
    actor="alice",
    at=None,
    **fields,
):
    return AuditEvent(
        at=at or timezone.now(),
        actor_name=actor,
        action=action,
        namespace=namespace,
        config=config,
        target_type="reviews.changerequest",
        target_id="1",
        target_repr="#1 Add signups",
        **fields,
    )


@pytest.fixture
def olga(demo):
    """A viewer of sales-ops only."""
    user = get_user_model().objects.create_user("olga", "olga@example.com", "olga-pass-123")
    config_services.membership_set(
        namespace=Namespace.objects.get(slug="sales-ops"), user=user, role=Role.VIEWER
    )
    return user


@pytest.fixture
def root(demo):
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")


def rows(response):
    return list(response.context["page"].object_list)


def test_the_log_shows_events_newest_first_with_words_and_a_link_to_the_config(client, dave):
    AuditEvent.objects.bulk_create(
        [
            event(at=timezone.now() - timedelta(hours=1), reason="older"),
            event(
                action="change_request.opened",
                reason="Add signups",
                details={
                    "diff": [
                        {
                            "op": "added",
                            "path": "/metrics/2",
                            "where": ["Metrics"],
                            "item": "signups (count, signup)",
                            "after": {"name": "signups"},
                        }
                    ],
                    "base_version": 3,
                },
            ),
        ]
    )
    client.force_login(dave)

    response = client.get("/audit/")

    assert response.status_code == 200
    mine = [e.reason for e in rows(response) if e.target_repr == "#1 Add signups"]
    assert mine == ["Add signups", "older"]
    page = response.content.decode()
    assert "Opened a change request" in page
    assert "Metrics: added signups (count, signup)" in page
    assert "Based on version: 3" in page
    assert 'href="/configs/sales-ops/custom-metrics/"' in page
    assert "<title>Audit log | Config Console</title>" in page


def test_a_change_of_settings_reads_as_before_and_after_in_words(client, carol, bob, dave):
    config_services.namespace_update(
        namespace=Namespace.objects.get(slug="data-pipelines"),
        actor=carol,
        reason="Two pairs of eyes",
        required_approvals=2,
        owner_approval_required=True,
    )
    metrics = Namespace.objects.get(slug="sales-ops").configs.get(key="custom-metrics")
    config_services.config_update(config=metrics, actor=carol, owners=[carol, bob])
    config_services.config_update(config=metrics, actor=carol, required_approvals=3)
    client.force_login(dave)

    page = client.get("/audit/").content.decode()

    assert "<li>Required approvals: 1 → 2</li>" in page
    assert "<li>Owner approval required: no → yes</li>" in page
    assert "<li>Owners: carol → bob, carol</li>" in page
    assert "<li>Required approvals: none → 3</li>" in page
    assert "&quot;before&quot;" not in page


def test_a_viewer_of_one_namespace_never_sees_another_namespaces_events(client, olga):
    AuditEvent.objects.bulk_create([event(namespace="data-pipelines", reason="secret")])
    client.force_login(olga)

    response = client.get("/audit/")
    unfiltered_namespaces = {e.namespace for e in rows(response)}
    asked = client.get("/audit/", {"namespace": "data-pipelines"})

    assert unfiltered_namespaces == {"sales-ops"}
    assert "secret" not in response.content.decode()
    assert all(e.namespace == "sales-ops" for e in rows(asked))
    assert "data-pipelines" not in [c[0] for c in asked.context["form"].fields["namespace"].choices]
    assert not filtered_events(user=olga, namespaces=["data-pipelines"]).exists()


def test_someone_without_a_role_sees_an_empty_log_that_says_so(client, erin):
    client.force_login(erin)

    response = client.get("/audit/")

    assert rows(response) == []
    assert (
        "Nothing has been recorded yet in the namespaces you can see." in response.content.decode()
    )


def test_events_outside_any_namespace_are_for_superusers_only(client, carol, root):
    client.post("/accounts/login/", {"username": "nobody", "password": "wrong"})

    assert not filtered_events(user=carol, action="auth.login_failed").exists()
    assert filtered_events(user=root, action="auth.login_failed").count() == 1


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"namespace": "sales-ops"}, {"m1", "m2", "l1"}),
        ({"config": "custom-metrics"}, {"m1", "m2"}),
        ({"config": "sales-ops/legacy-fields"}, {"l1"}),
        ({"namespace": "data-pipelines", "config": "company-timezones"}, {"t1"}),
        ({"actor": "BOB"}, {"m2"}),
        ({"action": "change_request.approved"}, {"m2", "t1"}),
        ({"action": "change_request"}, {"m1", "m2", "t1"}),
        ({"since": "2026-03-02"}, {"m2", "l1", "t1"}),
        ({"until": "2026-03-02"}, {"m1", "m2"}),
        ({"since": "2026-03-02", "until": "2026-03-02"}, {"m2"}),
    ],
)
def test_filters(client, dave, query, expected):
    day = timezone.datetime(2026, 3, 1, 12, tzinfo=timezone.get_current_timezone())
    AuditEvent.objects.bulk_create(
        [
            event(reason="m1", at=day),
            event(
                reason="m2",
                actor="bob",
                action="change_request.approved",
                at=day + timedelta(days=1),
            ),
            event(
                reason="l1",
                config="legacy-fields",
                action="schema.changed",
                at=day + timedelta(days=2),
            ),
            event(
                reason="t1",
                namespace="data-pipelines",
                config="company-timezones",
                action="change_request.approved",
                at=day + timedelta(days=3),
            ),
        ]
    )
    client.force_login(dave)

    response = client.get("/audit/", query)

    assert {e.reason for e in rows(response)} - {""} == expected


def test_a_bad_filter_is_shown_as_a_problem(client, dave):
    client.force_login(dave)

    response = client.get("/audit/", {"since": "yesterday", "action": "config.deleted"})

    page = response.content.decode()
    assert "Some filters were not used" in page
    assert "Enter a valid date." in page


def older_link(response) -> str:
    """The address of the "Older →" link, as the browser would follow it."""
    found = re.search(r'href="\?([^"]*)" rel="next"', response.content.decode())
    assert found, "no Older link"
    return "/audit/?" + html.unescape(found.group(1))


def newer_link(response) -> str:
    found = re.search(r'href="\?([^"]*)" rel="prev"', response.content.decode())
    assert found, "no Newer link"
    return "/audit/?" + html.unescape(found.group(1))


def test_pages_of_fifty_keep_the_filters_in_their_links(client, dave):
    AuditEvent.objects.bulk_create(
        [event(reason=f"n{n}", at=timezone.now() - timedelta(minutes=n)) for n in range(120)]
    )
    client.force_login(dave)

    first = client.get("/audit/", {"action": "change_request.commented"})
    second = client.get(older_link(first))
    third = client.get(older_link(second))

    assert len(rows(first)) == 50
    assert [e.reason for e in rows(second)] == [f"n{n}" for n in range(50, 100)]
    assert [e.reason for e in rows(third)] == [f"n{n}" for n in range(100, 120)]
    assert "?action=change_request.commented&amp;cursor=" in first.content.decode()
    assert "Older &rarr;" in first.content.decode()
    assert "Newer" not in first.content.decode()
    assert "Older &rarr;" not in third.content.decode()
    assert [e.reason for e in rows(client.get(newer_link(third)))] == [
        f"n{n}" for n in range(50, 100)
    ]
    assert "export.csv?action=change_request.commented" in first.content.decode()


def test_events_at_the_same_instant_are_each_shown_once_across_pages(client, dave):
    same = timezone.now()
    AuditEvent.objects.bulk_create([event(reason=f"n{n}", at=same) for n in range(120)])
    client.force_login(dave)

    first = client.get("/audit/")
    second = client.get(older_link(first))
    third = client.get(older_link(second))
    shown = [e.pk for page in (first, second, third) for e in rows(page)]

    assert len(shown) == len(set(shown))
    assert set(
        AuditEvent.objects.filter(reason__startswith="n").values_list("pk", flat=True)
    ) <= set(shown)


def test_a_deep_page_makes_the_same_queries_as_the_first_and_no_offset(client, dave):
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [event(reason=f"n{n}", at=now - timedelta(minutes=n)) for n in range(400)]
    )
    client.force_login(dave)
    client.get("/audit/")  # warm: session, content types
    with CaptureQueriesContext(connection) as on_first:
        first = client.get("/audit/")
    address = older_link(first)
    for _ in range(5):
        address = older_link(client.get(address))
    with CaptureQueriesContext(connection) as on_deep:
        deep = client.get(address)

    assert len(rows(deep)) == 50
    assert max(e.at for e in rows(deep)) < min(e.at for e in rows(first))
    assert len(on_deep) == len(on_first)
    assert not [q["sql"] for q in on_deep if "OFFSET" in (q["sql"] or "").upper()]


def test_a_cursor_edited_by_hand_gives_the_newest_page(client, dave):
    AuditEvent.objects.bulk_create([event(reason=f"n{n}") for n in range(3)])
    client.force_login(dave)

    response = client.get("/audit/", {"cursor": "not-a-cursor"})

    assert response.status_code == 200
    assert rows(response) == rows(client.get("/audit/"))


def test_the_config_page_links_to_its_audit_tab(client, dave):
    client.force_login(dave)

    page = client.get("/configs/sales-ops/custom-metrics/").content.decode()
    tab = client.get("/audit/", {"namespace": "sales-ops", "config": "custom-metrics"})

    assert 'href="/audit/?namespace=sales-ops&amp;config=custom-metrics"' in page
    assert ">Audit log</a>" in page
    assert tab.context["page_title"] == "Audit log of sales-ops/custom-metrics"
    assert 'href="/configs/sales-ops/custom-metrics/"' in tab.content.decode()


def test_the_console_menu_offers_the_audit_log(client, dave):
    client.force_login(dave)

    assert '<a href="/audit/">Audit log</a>' in client.get("/configs/").content.decode()


def test_the_page_needs_a_login(client):
    assert client.get("/audit/").status_code == 302


@pytest.mark.parametrize("count", [3, 300])
def test_the_page_makes_a_fixed_number_of_queries_whatever_the_number_of_events(
    client, dave, django_assert_max_num_queries, count
):
    AuditEvent.objects.bulk_create([event(details={"version": n}) for n in range(count)])
    client.force_login(dave)

    # session, user, roles, the namespaces to filter by, the count and the page.
    with django_assert_max_num_queries(7):
        response = client.get("/audit/", {"namespace": "sales-ops"})

    assert response.status_code == 200


def test_past_the_counted_bound_the_log_says_so_and_still_reaches_older_events(
    client, dave, monkeypatch
):
    monkeypatch.setattr("audit.paging.COUNT_BOUND", 100)
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [event(reason=f"n{n}", at=now - timedelta(minutes=n)) for n in range(160)]
    )
    client.force_login(dave)

    first = client.get("/audit/", {"action": "change_request.commented"})
    second = client.get(older_link(first))
    last = client.get(older_link(client.get(older_link(second))))

    assert "More than 100 events" in first.content.decode()
    assert {e.reason for e in rows(last)} == {f"n{n}" for n in range(150, 160)}
    assert "Older &rarr;" not in last.content.decode()


def test_a_log_within_the_bound_is_counted_exactly(client, dave, monkeypatch):
    monkeypatch.setattr("audit.paging.COUNT_BOUND", 100)
    AuditEvent.objects.bulk_create([event(reason=f"n{n}") for n in range(60)])
    client.force_login(dave)

    page = client.get("/audit/", {"action": "change_request.commented"}).content.decode()

    assert "60 events in all" in page
    assert "Older &rarr;" in page


def test_filtering_by_a_family_of_actions_keeps_only_that_family(dave):
    AuditEvent.objects.bulk_create(
        [
            event(action="change_request.opened"),
            event(action="change_request.published"),
            event(action="config.changed"),
        ]
    )

    actions = {e.action for e in filtered_events(user=dave, action="change_request")}

    assert "config.changed" not in actions
    assert {"change_request.opened", "change_request.published"} <= actions
