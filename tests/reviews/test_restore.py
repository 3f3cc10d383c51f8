"""Restoring an old version: a new change request, reviewed like any other, never a rewrite."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.errors import InvalidValue, RuleViolation
from configs import environments
from configs.selectors import newest_version, versions_of
from configs.services import schema_update, version_cancel
from reviews import selectors
from reviews.models import ChangeRequest
from reviews.services import (
    change_request_approve,
    change_request_open,
    change_request_publish,
    version_restore,
)

METRICS = "/configs/sales-ops/custom-metrics/"
TIMEZONES = "/configs/data-pipelines/company-timezones/"


def restore_url(base: str, number: int) -> str:
    return f"{base}versions/{number}/restore/"


def with_winsorize(config, percentile: float) -> dict:
    value = versions_of(config).get(number=1).value
    first, *rest = value["metrics"]
    return {"metrics": [{**first, "winsorize_percentile": percentile}, *rest]}


def publish_directly(config, value, author, title="A change", environment=None):
    """Open and publish at once (the no-approval `metrics` config), in `environment` (None: the
    default one)."""
    return change_request_open(
        config=config,
        author=author,
        value=value,
        title=title,
        base_version=newest_version(config, environment).number,
        environment=environment,
        publish=True,
    ).published_version


def test_restore_opens_a_change_request_with_the_old_value_on_the_newest_version(alice, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    before = AuditEvent.objects.count()
    change_request = version_restore(
        version=versions_of(metrics).get(number=1), actor=alice, reason="95 cut real revenue"
    )
    assert change_request.title == "Restore version 1"
    assert change_request.description == "95 cut real revenue"
    assert change_request.value == versions_of(metrics).get(number=1).value
    assert change_request.base_version.number == 2
    assert change_request.is_open and change_request.published_version is None
    assert versions_of(metrics).count() == 2  # nothing is published or rewritten yet
    events = list(AuditEvent.objects.order_by("id")[before:].values_list("action", flat=True))
    assert sorted(events) == ["change_request.opened", "version.restored"]
    restored = AuditEvent.objects.get(action="version.restored")
    assert restored.actor == alice
    assert restored.reason == "95 cut real revenue"
    assert (restored.namespace, restored.config) == ("sales-ops", "custom-metrics")
    assert restored.details == {
        "environment": "production",
        "version": 1,
        "change_request": change_request.pk,
        "base_version": 2,
    }


def test_a_published_restore_is_a_new_version_equal_to_the_old_value(client, alice, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    client.force_login(alice)
    response = client.post(restore_url(METRICS, 1), {"reason": "95 cut real revenue"})
    change_request = ChangeRequest.objects.get(title="Restore version 1")
    assert response.status_code == 302 and response.url == change_request.get_absolute_url()
    assert change_request.description == "95 cut real revenue"
    restored = AuditEvent.objects.get(action="version.restored")
    assert restored.reason == "95 cut real revenue"
    # In a namespace that needs no approval the editor publishes it as usual.
    client.post(f"/changes/{change_request.pk}/publish/")
    version = versions_of(metrics).get(number=3)
    assert version.value == versions_of(metrics).get(number=1).value
    assert version.value_json == versions_of(metrics).get(number=1).value_json
    assert [v.number for v in versions_of(metrics).all()] == [3, 2, 1]
    history = client.get(f"{METRICS}history/").content.decode()
    assert "Restore version 1" in history.split('id="v3"')[1].split("</tr>")[0]
    assert 'id="v2"' in history and 'id="v1"' in history


def test_a_restore_in_a_reviewed_namespace_waits_for_an_approval(client, alice, bob, timezones):
    value = versions_of(timezones).get(number=1).value
    change = change_request_open(
        config=timezones,
        author=alice,
        value={"companies": value["companies"][:1]},
        title="Only acme",
        base_version=1,
    )
    change_request_approve(change_request=change, reviewer=bob)
    change_request_publish(change_request=change, actor=bob)
    restore = version_restore(
        version=versions_of(timezones).get(number=1), actor=alice, reason="Initech is back"
    )
    with pytest.raises(RuleViolation, match="1 more approval"):
        change_request_publish(change_request=restore, actor=bob)
    change_request_approve(change_request=restore, reviewer=bob)
    version = change_request_publish(change_request=restore, actor=bob)
    assert version.number == 3 and version.value == value
    assert selectors.approvers_of(version) == ["bob"]


def test_restoring_the_live_version_is_refused_with_a_clear_message(client, alice, metrics):
    with pytest.raises(RuleViolation, match="Version 1 is already live"):
        version_restore(version=versions_of(metrics).get(number=1), actor=alice, reason="Undo")
    client.force_login(alice)
    response = client.post(
        restore_url(METRICS, 1), {"next": f"{METRICS}history/", "reason": "Undo"}, follow=True
    )
    assert "Version 1 is already live: there is nothing to restore." in response.content.decode()
    assert not ChangeRequest.objects.filter(title__startswith="Restore").exists()
    assert not AuditEvent.objects.filter(action="version.restored").exists()


def test_restoring_a_value_equal_to_the_newest_is_refused(alice, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    publish_directly(metrics, versions_of(metrics).get(number=1).value, alice, title="Back")
    with pytest.raises(RuleViolation, match="same value as version 3"):
        version_restore(version=versions_of(metrics).get(number=1), actor=alice, reason="Undo")


def test_a_value_the_current_schema_rejects_cannot_be_restored(client, alice, carol, metrics):
    # In every environment, so that no live value stands in the way of the stricter schema.
    for environment in environments.every():
        publish_directly(metrics, with_winsorize(metrics, 95), alice, environment=environment)
    body = metrics.schema.body
    winsorize = body["properties"]["metrics"]["items"]["properties"]["winsorize_percentile"]
    winsorize["maximum"] = 99  # version 1 says 99.9
    schema_update(schema=metrics.schema, body=body, actor=carol, reason="No more than 99")
    metrics.refresh_from_db()
    with pytest.raises(InvalidValue):
        version_restore(version=versions_of(metrics).get(number=1), actor=alice, reason="Undo")
    client.force_login(alice)
    response = client.post(restore_url(METRICS, 1), {"reason": "Undo"}, follow=True)
    page = response.content.decode()
    assert "Version 1 cannot be restored as it is" in page
    assert "Winsorize at percentile: enter a number at most 99." in page
    assert "/metrics/0/winsorize_percentile" in page
    assert not AuditEvent.objects.filter(action="version.restored").exists()


def test_a_viewer_is_not_offered_restore_and_cannot_restore(client, alice, dave, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    client.force_login(dave)
    assert "Restore version" not in client.get(f"{METRICS}history/").content.decode()
    assert "Restore version" not in client.get(f"{METRICS}versions/1/").content.decode()
    assert client.post(restore_url(METRICS, 1), {"reason": "Undo"}).status_code == 403
    with pytest.raises(PermissionDenied):
        version_restore(version=versions_of(metrics).get(number=1), actor=dave, reason="Undo")
    assert not ChangeRequest.objects.filter(title__startswith="Restore").exists()


def test_an_editor_is_offered_restore_except_for_the_live_version(client, alice, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    client.force_login(alice)
    history = client.get(f"{METRICS}history/").content.decode()
    assert "Restore version 1" in history and "Restore version 2" not in history
    compare = client.get(f"{METRICS}compare/", {"from": 1, "to": 2}).content.decode()
    assert "Restore version 1" in compare and "Restore version 2" not in compare


def test_a_person_outside_the_namespace_gets_404_when_restoring(client, alice, erin, metrics):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    client.force_login(erin)
    assert client.post(restore_url(METRICS, 1), {"reason": "Undo"}).status_code == 404
    client.force_login(alice)
    assert client.post(restore_url(METRICS, 7), {"reason": "Undo"}).status_code == 404
    assert client.get(restore_url(METRICS, 1)).status_code == 405


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_restore_without_a_reason_is_refused(alice, metrics, reason):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    with pytest.raises(ValidationError, match="A reason for restoring this version is required"):
        version_restore(version=versions_of(metrics).get(number=1), actor=alice, reason=reason)
    assert not ChangeRequest.objects.filter(title__startswith="Restore").exists()
    assert not AuditEvent.objects.filter(action="version.restored").exists()


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "  "}])
def test_the_restore_form_asks_why_and_says_so_when_left_blank(client, alice, metrics, data):
    publish_directly(metrics, with_winsorize(metrics, 95), alice)
    client.force_login(alice)
    form = client.get(f"{METRICS}versions/1/").content.decode()
    assert '<label for="restore-reason-1">Why restore this version?' in form
    assert 'name="reason" id="restore-reason-1" required' in form
    response = client.post(
        restore_url(METRICS, 1), {"next": f"{METRICS}history/", **data}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{METRICS}history/"
    assert (
        "Version 1 was not restored: A reason for restoring this version is required."
        in response.content.decode()
    )
    assert not ChangeRequest.objects.filter(title__startswith="Restore").exists()
    assert not AuditEvent.objects.filter(action="version.restored").exists()


def test_a_cancelled_version_is_not_offered_for_restore_and_is_refused(client, alice, bob, metrics):
    # Version 2 was scheduled and cancelled: it never took effect, so there is nothing to go
    # back to (its value can still be proposed through an edit).
    scheduled = change_request_open(
        config=metrics,
        author=alice,
        value=with_winsorize(metrics, 95),
        title="Winsorize at 95 from tomorrow",
        base_version=1,
    )
    change_request_publish(
        change_request=scheduled, actor=bob, effective_at=timezone.now() + timedelta(days=1)
    )
    version_cancel(version=versions_of(metrics).get(number=2), actor=bob, reason="Not yet")
    publish_directly(metrics, with_winsorize(metrics, 90), alice)  # version 3, live
    client.force_login(alice)
    history = client.get(f"{METRICS}history/").content.decode()
    assert "Restore version 1" in history and "Restore version 2" not in history
    assert "Restore version 2" not in client.get(f"{METRICS}versions/2/").content.decode()
    compare = client.get(f"{METRICS}compare/", {"from": 2, "to": 3}).content.decode()
    assert "Restore version 2" not in compare
    with pytest.raises(RuleViolation, match="Version 2 was cancelled before it took effect"):
        version_restore(version=versions_of(metrics).get(number=2), actor=alice, reason="Back")
    response = client.post(restore_url(METRICS, 2), {"reason": "Back"}, follow=True)
    assert "Version 2 was cancelled before it took effect" in response.content.decode()
    assert not ChangeRequest.objects.filter(title__startswith="Restore").exists()


def test_approvers_for_versions_agrees_with_the_gate_in_a_fixed_number_of_queries(
    alice, bob, carol, timezones, django_assert_num_queries
):
    value = versions_of(timezones).get(number=1).value
    companies = value["companies"]
    for n in range(1, 6):
        change = change_request_open(
            config=timezones,
            author=alice,
            value={"companies": companies[: 1 + n % 3]},
            title=f"Change {n}",
            base_version=newest_version(timezones).number,
        )
        change_request_approve(change_request=change, reviewer=bob)
        if n == 3:
            change_request_approve(change_request=change, reviewer=carol)
        change_request_publish(change_request=change, actor=bob)
    versions = list(versions_of(timezones).all())
    with django_assert_num_queries(2):
        approvers = selectors.approvers_for_versions(versions)
    assert approvers == {v.pk: selectors.approvers_of(v) for v in versions}
    assert approvers[versions_of(timezones).get(number=4).pk] == ["bob", "carol"]
    assert approvers[versions_of(timezones).get(number=1).pk] == []
    assert selectors.approvers_for_versions([]) == {}


def test_restoring_and_cancelling_in_staging_are_audited_naming_staging(alice, carol, metrics):
    # Version numbers are per environment: "version 2" alone does not say whose.
    staging = environments.named("staging")
    publish_directly(metrics, with_winsorize(metrics, 95), alice, environment=staging)
    version_restore(
        version=versions_of(metrics, staging).get(number=1), actor=alice, reason="95 cut revenue"
    )
    scheduled = change_request_open(
        config=metrics,
        author=alice,
        value=with_winsorize(metrics, 90),
        title="Later",
        base_version=newest_version(metrics, staging).number,
        environment=staging,
        publish=True,
        effective_at=timezone.now() + timedelta(days=1),
    ).published_version
    version_cancel(version=scheduled, actor=carol, reason="Not yet")

    restored = AuditEvent.objects.get(action="version.restored")
    cancelled = AuditEvent.objects.get(action="version.cancelled")
    assert restored.details["environment"] == "staging"
    assert cancelled.details["environment"] == "staging"
