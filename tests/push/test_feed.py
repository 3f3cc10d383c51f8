"""The change feed: publishes, scheduled versions and cancels become events, in order."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from configs.services import version_cancel
from push import feed as change_feed
from push.models import ChangeEvent
from tests.push.conftest import publish_metric

pytestmark = pytest.mark.django_db


def test_a_publish_becomes_a_live_event_heard_at_commit(carol, django_capture_on_commit_callbacks):
    heard = []
    change_feed.feed.subscribe(heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            version = publish_metric(carol, "signups")
    finally:
        change_feed.feed.unsubscribe(heard.append)

    event = ChangeEvent.objects.get(version=version)
    assert (event.kind, event.namespace, event.key, event.number) == (
        "live",
        "sales-ops",
        "custom-metrics",
        version.number,
    )
    if connection.vendor == "sqlite":  # PostgreSQL delivers through the listener's NOTIFY
        assert [m["id"] for m in heard if m.get("kind") == "live"] == [event.id]


def test_a_future_version_is_scheduled_then_goes_live_once(carol):
    later = timezone.now() + timedelta(hours=1)
    start = change_feed.latest_id()
    version = publish_metric(carol, "refunds", effective_at=later)

    events = ChangeEvent.objects.filter(id__gt=start)
    assert list(events.values_list("kind", flat=True)) == ["scheduled"]
    assert change_feed.next_due() == later
    assert change_feed.emit_due() == 0

    with time_machine.travel(later + timedelta(seconds=1)):
        assert change_feed.emit_due() == 1
        assert change_feed.emit_due() == 0  # another server's turn: already written

    live = events.get(kind="live")
    assert (live.version_id, live.effective_at) == (version.pk, later)


def test_a_cancelled_version_never_goes_live(carol):
    later = timezone.now() + timedelta(hours=1)
    start = change_feed.latest_id()
    version = publish_metric(carol, "refunds", effective_at=later)

    version_cancel(version=version, actor=carol, reason="Not yet")

    kinds = list(ChangeEvent.objects.filter(id__gt=start).values_list("kind", "cancelled"))
    assert kinds == [("scheduled", False), ("scheduled", True)]
    with time_machine.travel(later + timedelta(seconds=1)):
        assert change_feed.emit_due() == 0


def test_events_after_an_id_are_the_namespace_s_newer_ones(carol):
    first = publish_metric(carol, "aa")
    second = publish_metric(carol, "bb")
    first_id = ChangeEvent.objects.get(version=first).id

    after = change_feed.events_after(first_id, "sales-ops")

    assert [(m["version"], m["kind"]) for m in after] == [(second.number, "live")]
    assert change_feed.events_after(second_id := after[0]["id"], "sales-ops") == []
    others = change_feed.events_after(0, "data-pipelines")
    assert others and all(m["namespace"] == "data-pipelines" for m in others)
    assert second_id > first_id
