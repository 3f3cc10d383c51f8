"""Publishing a schema change writes every config's new version together: each keeps what a
publish of its own would show (its version, change-feed event and webhook delivery), the rules
of a single publish hold for each, a failure writes nothing, and the number of queries does not
grow with the number of configs."""

import copy
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_tasks import default_task_backend

from audit.models import AuditEvent
from common.errors import Conflict, InvalidValue, RuleViolation, ValueTooLarge
from configs import environments, selectors, services
from configs.models import Config, Namespace, Version
from configs.services import NewVersion, versions_publish
from push import deliveries
from push import feed as change_feed
from push.models import ChangeEvent, WebhookDelivery
from push.services import webhook_create
from push.tasks import queue_deliveries
from reviews import services as review_services
from tests.reviews.test_schema_changes import items, open_change
from tests.test_query_counts import statements

pytestmark = pytest.mark.django_db


def add_configs(timezones, carol, count, start=0):
    """`count` more configs on the timezones schema, each with its own version 1."""
    namespace = Namespace.objects.get(slug="data-pipelines")
    return [
        services.config_create(
            namespace=namespace,
            key=f"tz-{n:03d}",
            name=f"Timezones {n}",
            value={"companies": [{"company_id": f"company-{n % 4}", "timezone": "UTC"}]},
            actor=carol,
            schema=timezones.schema,
        )
        for n in range(start, start + count)
    ]


def approved_change(timezones, carol, bob):
    change = open_change(timezones, carol)
    review_services.change_request_approve(change_request=change, reviewer=bob)
    return change


@pytest.fixture
def hooked(carol, settings):
    """A webhook of data-pipelines that asks for every version event."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _secret = webhook_create(
        namespace=Namespace.objects.get(slug="data-pipelines"),
        url="http://127.0.0.1:9/hook",
        events=["version.published", "version.scheduled"],
        actor=carol,
    )
    default_task_backend.results.clear()
    return webhook


def newest_versions(configs):
    return {c.pk: selectors.newest_version(c) for c in configs}


def test_every_config_gets_its_version_event_and_delivery(
    carol, bob, timezones, hooked, django_capture_on_commit_callbacks
):
    configs = [timezones, *add_configs(timezones, carol, 5)]
    change = approved_change(timezones, carol, bob)
    values = {i.config_id: i.value for i in items(change).all()}
    assert set(values) == {c.pk for c in configs}
    start = change_feed.latest_id()
    default_task_backend.results.clear()
    heard = []
    change_feed.feed.subscribe(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            before = timezone.now()
            review_services.change_request_publish(change_request=change, actor=bob)
    finally:
        change_feed.feed.unsubscribe(heard.append)

    change.refresh_from_db()
    schema_version = change.schema_change.published_schema_version
    assert (change.status, schema_version.number) == ("published", 2)
    published = {}
    for config in configs:
        version = selectors.live_version(config)
        assert version.number == 2
        assert version.value == values[config.pk]
        assert version.published_by == bob
        assert version.reason == "Every company has an owner team"
        assert before <= version.effective_at == version.published_at <= timezone.now()
        assert (version.schema_id, version.schema_version) == (timezones.schema_id, schema_version)
        assert version.bypass_reason == ""
        published[str(config)] = version.number
    assert dict(items(change).values_list("config_id", "published_version__number")) == {
        c.pk: published[str(c)] for c in configs
    }
    # One audit event per namespace (all of them are in data-pipelines) names every config
    # and its new version; the chain holds.
    event = AuditEvent.objects.get(action="change_request.published")
    assert (event.actor, event.namespace, event.details["versions"]) == (
        bob,
        "data-pipelines",
        published,
    )
    assert (event.details["change_request"], event.details["schema"]) == (
        change.pk,
        "company-timezones",
    )
    assert event.details["schema_version"] == 2
    out = io.StringIO()
    call_command("verify_audit", stdout=out)  # the event was sealed at commit
    assert "chain intact" in out.getvalue()
    # Each config's change-feed event, in the order the versions were written (one for its
    # value in each environment: the default environment's are these).
    every_event = list(ChangeEvent.objects.filter(id__gt=start).order_by("id"))
    events = [e for e in every_event if e.environment_id == environments.default().id]
    assert [(e.kind, e.namespace + "/" + e.key, e.number) for e in events] == [
        ("live", str(c), published[str(c)]) for c in sorted(configs, key=lambda c: c.pk)
    ]
    assert len(every_event) == len(events) * len(environments.every())
    events = every_event
    if connection.vendor == "sqlite":  # PostgreSQL delivers through the listener's NOTIFY
        assert [m["id"] for m in heard if m.get("kind") == "live"] == [e.id for e in events]
    # Each its webhook delivery, queued by one task that queues each delivery's own.
    deliveries = WebhookDelivery.objects.filter(change_event__in=events)
    assert sorted(deliveries.values_list("change_event_id", "event", "webhook_id")) == [
        (e.id, "version.published", hooked.pk) for e in events
    ]
    [task] = default_task_backend.results
    assert sorted(task.args[0]) == sorted(str(pk) for pk in deliveries.values_list("pk", flat=True))
    default_task_backend.results.clear()
    queue_deliveries.call(task.args[0])
    assert sorted(r.args[0] for r in default_task_backend.results) == sorted(task.args[0])


def test_a_schema_change_scheduled_for_later_schedules_every_config(carol, bob, timezones, hooked):
    configs = [timezones, *add_configs(timezones, carol, 3)]
    later = timezone.now() + timedelta(days=2)
    change = approved_change(timezones, carol, bob)
    start = change_feed.latest_id()

    review_services.change_request_publish(change_request=change, actor=bob, effective_at=later)

    for config in configs:
        newest, live = selectors.newest_version(config), selectors.live_version(config)
        assert (newest.effective_at, live.number) == (later, newest.number - 1)
    events = ChangeEvent.objects.filter(id__gt=start, environment_id=environments.default().id)
    assert sorted(events.values_list("kind", "effective_at", "number")) == sorted(
        ("scheduled", later, selectors.newest_version(c).number) for c in configs
    )
    deliveries = WebhookDelivery.objects.filter(change_event__in=events)
    assert list(deliveries.values_list("event", flat=True)) == ["version.scheduled"] * len(configs)


def test_an_admin_s_bypass_marks_every_config_version_with_the_reason(carol, timezones):
    configs = [timezones, *add_configs(timezones, carol, 3)]
    change = open_change(timezones, carol)  # not approved

    review_services.change_request_publish(
        change_request=change, actor=carol, bypass_reason="Dashboards are down"
    )

    assert {
        (v.number, v.published_by_id, v.bypass_reason) for v in newest_versions(configs).values()
    } == {(2, carol.pk, "Dashboards are down")}


def test_one_config_moving_conflicts_the_whole_change_and_writes_nothing(
    carol, bob, timezones, hooked
):
    configs = [timezones, *add_configs(timezones, carol, 4)]
    change = approved_change(timezones, carol, bob)
    moved = configs[2]
    with transaction.atomic():
        value = copy.deepcopy(selectors.live_version(moved).value)
        value["companies"][0]["timezone"] = "Asia/Tokyo"
        services.version_publish(config=moved, value=value, base_number=1, actor=bob)
    before = newest_versions(configs)
    start = change_feed.latest_id()

    with pytest.raises(Conflict, match=f"{moved} moved past version 1"):
        review_services.change_request_publish(change_request=change, actor=bob)

    change.refresh_from_db()
    assert change.status == "conflicted"
    assert newest_versions(configs) == before
    assert timezones.schema.versions.count() == 1
    assert not ChangeEvent.objects.filter(id__gt=start).exists()
    assert not items(change).filter(published_version__isnull=False).exists()


def test_a_failure_after_the_versions_are_written_leaves_nothing(
    carol, bob, timezones, hooked, monkeypatch
):
    configs = [timezones, *add_configs(timezones, carol, 4)]
    change = approved_change(timezones, carol, bob)
    before = newest_versions(configs)
    start = change_feed.latest_id()
    published = AuditEvent.objects.filter(action="change_request.published")

    def fail(events, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(deliveries, "enqueue_for", fail)
    with pytest.raises(RuntimeError):
        review_services.change_request_publish(change_request=change, actor=bob)

    change.refresh_from_db()
    assert change.status == "approved"
    assert newest_versions(configs) == before
    assert timezones.schema.versions.count() == 1
    assert not ChangeEvent.objects.filter(id__gt=start).exists()
    assert not WebhookDelivery.objects.filter(change_event_id__gt=start).exists()
    assert not published.exists()


# The rules of a single publish, for each config of a bulk one


@pytest.fixture
def two_configs(carol, timezones):
    """timezones (on a schema, version 1) and legacy-fields (free-form), with their values."""
    legacy = Config.objects.get(key="legacy-fields")
    return [
        (timezones, selectors.live_version(timezones)),
        (legacy, selectors.newest_version(legacy)),
    ]


def publish(changes, actor, **kwargs):
    with transaction.atomic():
        return versions_publish(changes=changes, actor=actor, reason="Bulk", **kwargs)


def refused(two_configs, bob, error, match, changes, **kwargs):
    before = newest_versions([config for config, _ in two_configs])
    events = ChangeEvent.objects.count()
    with pytest.raises(error, match=match) as caught:
        publish(changes, bob, **kwargs)
    assert newest_versions([config for config, _ in two_configs]) == before
    assert ChangeEvent.objects.count() == events
    return caught.value


def test_versions_of_several_schemas_are_published_together(bob, two_configs):
    (timezones, base), (legacy, legacy_base) = two_configs
    changes = [
        NewVersion(
            timezones.pk, {"companies": [{"company_id": "acme", "timezone": "UTC"}]}, base.number
        ),
        NewVersion(legacy.pk, {**legacy_base.value, "note": "x"}, legacy_base.number),
    ]

    versions = publish(changes, bob)

    for change, based_on in zip(changes, (base, legacy_base), strict=True):
        version = Version.objects.get(pk=versions[change.line].pk)
        assert (version.number, version.value, version.reason) == (
            based_on.number + 1,
            change.value,
            "Bulk",
        )
    default = environments.default().id
    assert versions[timezones.pk, default].schema_version.number == 1
    assert versions[legacy.pk, default].schema_id is None


def test_a_base_that_is_not_the_newest_is_a_conflict(bob, two_configs):
    (timezones, base), (legacy, legacy_base) = two_configs
    changes = [
        NewVersion(timezones.pk, base.value, base.number),
        NewVersion(legacy.pk, legacy_base.value, legacy_base.number + 6),
    ]

    refused(two_configs, bob, Conflict, "legacy-fields is now at version 1", changes)


def test_effective_times_never_go_back(bob, two_configs):
    timezones, version = two_configs[0]
    later = timezone.now() + timedelta(days=1)
    publish([NewVersion(timezones.pk, version.value, 1)], bob, effective_at=later)
    changes = [NewVersion(timezones.pk, version.value, 2)]

    error = refused(two_configs, bob, RuleViolation, "company-timezones: Version 2", changes)
    assert "cannot take effect before it" in str(error)
    refused(
        two_configs,
        bob,
        RuleViolation,
        "in the past",
        changes,
        effective_at=timezone.now() - timedelta(hours=1),
    )


def test_each_value_is_checked_against_its_schema_and_for_credentials(bob, two_configs):
    (timezones, _), (legacy, version) = two_configs
    changes = [
        NewVersion(timezones.pk, {"companies": [{"company_id": "acme", "timezone": "Mars"}]}, 1),
        NewVersion(legacy.pk, {**version.value, "db_password": "hunter2-hunter2"}, version.number),
    ]

    error = refused(two_configs, bob, InvalidValue, "2 problems", changes)
    assert [(e["config"], e["path"]) for e in error.errors] == [
        ("data-pipelines/company-timezones", "/companies/0/timezone"),
        ("sales-ops/legacy-fields", "/db_password"),
    ]


def test_a_value_over_the_size_limit_is_refused(bob, two_configs):
    legacy, version = two_configs[1]
    with override_settings(CONFIG_MAX_VALUE_BYTES=100):
        changes = [NewVersion(legacy.pk, {**version.value, "padding": "x" * 200}, version.number)]
        refused(two_configs, bob, ValueTooLarge, "at most 100 bytes", changes)


# Queries


class Undo(Exception):
    pass


def queries_to_publish(timezones, carol, bob) -> tuple[int, list[str]]:
    """How many configs a schema change on every config of the schema migrates, and the
    queries publishing it makes (all of it rolled back afterwards)."""
    try:
        with transaction.atomic():
            change = approved_change(timezones, carol, bob)
            with CaptureQueriesContext(connection) as queries:
                review_services.change_request_publish(change_request=change, actor=bob)
            count = items(change).count()  # configs: their changes in the default environment
            events = ChangeEvent.objects.filter(
                version__in=items(change).values("published_version")
            )
            deliveries = WebhookDelivery.objects.filter(change_event__in=events)
            assert deliveries.count() == events.count() == count
            raise Undo
    except Undo:
        pass
    return count, statements([query["sql"] for query in queries.captured_queries])


def test_publishing_takes_as_many_queries_for_30_configs_as_for_3(carol, bob, timezones, hooked):
    add_configs(timezones, carol, 2)
    few, few_queries = queries_to_publish(timezones, carol, bob)
    add_configs(timezones, carol, 27, start=2)
    many, many_queries = queries_to_publish(timezones, carol, bob)

    assert (few, many) == (3, 30)
    assert len(many_queries) == len(few_queries), "\n".join(many_queries)
