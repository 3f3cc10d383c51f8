"""Scheduled versions: they go live on time, never go back in time, and can be cancelled first."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEvent
from common.errors import RuleViolation
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from configs.services import version_cancel
from reviews import services
from reviews.models import ChangeRequest

pytestmark = pytest.mark.django_db

# Well after the demo's version 1, so every instant below is "later" than it.
NOW = datetime(2031, 3, 2, 9, 0, tzinfo=UTC)
T = NOW + timedelta(hours=6)
SECOND = timedelta(seconds=1)


@pytest.fixture
def clock(time_machine, demo):
    """A stopped clock at NOW (after the demo data was made, at the real time)."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


def live(config, instant):
    return versions_of(config).live_at(instant).first()


def approved_change(config, author, reviewer, company_id):
    value = copy.deepcopy(newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    cr = services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Add {company_id}",
        base_version=newest(config).number,
    )
    services.change_request_approve(change_request=cr, reviewer=reviewer)
    return cr


def company_ids(version):
    return [c["company_id"] for c in version.value["companies"]]


def test_scheduled_version_is_not_live_a_second_before_its_time(clock, timezones, alice, bob):
    cr = approved_change(timezones, alice, bob, "hooli")

    version = services.change_request_publish(change_request=cr, actor=bob, effective_at=T)

    assert version.number == 2
    assert version.effective_at == T
    assert version.published_at == NOW
    assert live(timezones, T - SECOND).number == 1
    assert live(timezones, T).number == 2
    assert live(timezones, timezone.now()).number == 1


def test_scheduled_version_goes_live_when_its_time_comes(clock, timezones, alice, bob):
    cr = approved_change(timezones, alice, bob, "hooli")
    services.change_request_publish(change_request=cr, actor=bob, effective_at=T)

    clock.move_to(T - SECOND, tick=False)
    assert live(timezones, timezone.now()).number == 1
    clock.move_to(T, tick=False)
    assert live(timezones, timezone.now()).number == 2
    assert "hooli" in company_ids(live(timezones, timezone.now()))


def test_newer_version_cannot_take_effect_before_a_scheduled_one(clock, timezones, alice, bob):
    scheduled = approved_change(timezones, alice, bob, "hooli")
    services.change_request_publish(change_request=scheduled, actor=bob, effective_at=T)
    sooner = approved_change(timezones, alice, bob, "pied-piper")

    with pytest.raises(RuleViolation, match="Version 2 is scheduled for Sun 2 Mar 2031, 15:00 UTC"):
        services.change_request_publish(change_request=sooner, actor=bob)
    with pytest.raises(RuleViolation, match="cannot take effect before it"):
        services.change_request_publish(change_request=sooner, actor=bob, effective_at=T - SECOND)

    assert newest(timezones).number == 2
    assert ChangeRequest.objects.get(pk=sooner.pk).status == ChangeRequest.Status.APPROVED

    version = services.change_request_publish(change_request=sooner, actor=bob, effective_at=T)
    assert version.number == 3
    assert live(timezones, T).number == 3


def test_effective_time_in_the_past_is_refused(clock, timezones, alice, bob):
    cr = approved_change(timezones, alice, bob, "hooli")

    with pytest.raises(RuleViolation, match="in the past"):
        services.change_request_publish(
            change_request=cr, actor=bob, effective_at=NOW - timedelta(hours=1)
        )
    assert newest(timezones).number == 1


def test_scheduled_version_can_be_cancelled_before_it_takes_effect(clock, timezones, alice, bob):
    cr = approved_change(timezones, alice, bob, "hooli")
    version = services.change_request_publish(change_request=cr, actor=bob, effective_at=T)
    clock.move_to(T - timedelta(minutes=1), tick=False)

    version_cancel(version=version, actor=bob, reason="Hooli moved the switch-over")

    version.refresh_from_db()
    assert version.cancelled_at == T - timedelta(minutes=1)
    assert version.cancelled_by == bob
    assert live(timezones, T).number == 1
    assert live(timezones, T + timedelta(days=30)).number == 1
    event = AuditEvent.objects.get(action="version.cancelled")
    assert (event.actor_name, event.reason) == ("bob", "Hooli moved the switch-over")
    assert event.details["version"] == 2


def test_next_publish_after_a_cancel_builds_on_the_live_version(clock, timezones, alice, bob):
    cancelled = services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "hooli"), actor=bob, effective_at=T
    )
    version_cancel(version=cancelled, actor=bob)

    cr = approved_change(timezones, alice, bob, "pied-piper")
    assert cr.base_version.number == 1
    version = services.change_request_publish(change_request=cr, actor=bob)

    assert version.number == 3  # numbers are never reused: version 2 stays, cancelled
    assert live(timezones, timezone.now()) == version
    assert live(timezones, T) == version
    assert "hooli" not in company_ids(version)
    assert "pied-piper" in company_ids(version)


def test_cancel_is_refused_once_the_version_is_live(clock, timezones, alice, bob):
    cr = approved_change(timezones, alice, bob, "hooli")
    version = services.change_request_publish(change_request=cr, actor=bob, effective_at=T)
    clock.move_to(T + SECOND, tick=False)

    with pytest.raises(RuleViolation, match="Version 2 is already live"):
        version_cancel(version=version, actor=bob)

    version.refresh_from_db()
    assert version.cancelled_at is None
    assert live(timezones, timezone.now()).number == 2


def test_cancel_is_refused_for_a_version_published_now(clock, timezones, alice, bob):
    version = services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "hooli"), actor=bob
    )

    with pytest.raises(RuleViolation, match="already live"):
        version_cancel(version=version, actor=bob)


def test_cancelling_twice_is_refused(clock, timezones, alice, bob):
    version = services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "hooli"), actor=bob, effective_at=T
    )
    version_cancel(version=version, actor=bob)

    with pytest.raises(RuleViolation, match="already cancelled"):
        version_cancel(version=version, actor=bob)


def test_only_the_last_scheduled_version_can_be_cancelled(clock, timezones, alice, bob):
    first = services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "hooli"), actor=bob, effective_at=T
    )
    services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "pied-piper"),
        actor=bob,
        effective_at=T + timedelta(hours=1),
    )

    with pytest.raises(RuleViolation, match="Cancel version 3 first"):
        version_cancel(version=first, actor=bob)
    first.refresh_from_db()
    assert first.cancelled_at is None


def test_editor_cannot_cancel_a_scheduled_version(clock, timezones, alice, bob):
    version = services.change_request_publish(
        change_request=approved_change(timezones, alice, bob, "hooli"), actor=bob, effective_at=T
    )

    with pytest.raises(PermissionDenied, match="reviewer role in data-pipelines"):
        version_cancel(version=version, actor=alice)
    version.refresh_from_db()
    assert version.cancelled_at is None
