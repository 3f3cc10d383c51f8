"""Everywhere a person (or another system) reads about a change, the environment is named: the
change request's page and lists, the audit log, e-mails and webhooks."""

import copy
import json

import pytest

from audit.models import AuditEvent
from configs import environments
from configs.models import Namespace
from configs.selectors import newest_version
from push.models import WebhookDelivery
from push.services import webhook_create
from push.webhooks import _body
from reviews import services

pytestmark = pytest.mark.django_db


def staging():
    return environments.named("staging")


def with_metric(config, name, env=None):
    value = copy.deepcopy(newest_version(config, env).value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    return value


def open_in_staging(config, author, name="signups", **kwargs):
    return services.change_request_open(
        config=config,
        author=author,
        value=with_metric(config, name, staging()),
        title=f"Count {name} in staging",
        base_version=newest_version(config, staging()).number,
        environment=staging(),
        **kwargs,
    )


def test_the_change_request_page_and_lists_name_its_environment(client, alice, metrics):
    change_request = open_in_staging(metrics, alice)
    client.force_login(alice)
    page = client.get(change_request.get_absolute_url()).content.decode()
    assert '<dd id="cr-environment"><span class="badge env" title="Environment">Staging' in page
    assert "/configs/sales-ops/custom-metrics/?environment=staging" in page
    mine = client.get("/changes/mine/").content.decode()
    assert "Count signups in staging" in mine
    assert '<span class="badge env" title="Environment">Staging</span>' in mine


def test_audit_events_name_the_environment_and_keep_the_key(alice, metrics):
    change_request = open_in_staging(metrics, alice)
    event = AuditEvent.objects.get(action="change_request.opened", target_id=change_request.pk)
    assert event.details["environment"] == "staging"
    assert event.config == "custom-metrics"  # the audit log filters by key
    production = services.change_request_open(
        config=metrics,
        author=alice,
        value=with_metric(metrics, "refunds"),
        title="Count refunds",
        base_version=newest_version(metrics).number,
    )
    event = AuditEvent.objects.get(action="change_request.opened", target_id=production.pk)
    assert event.details["environment"] == "production"


def test_emails_name_the_environment_outside_the_default_one(
    alice, bob, timezones, mailoutbox, django_capture_on_commit_callbacks
):
    value = copy.deepcopy(newest_version(timezones, staging()).value)
    value["companies"].append({"company_id": "initech", "timezone": "Asia/Tokyo"})
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_open(
            config=timezones,
            author=alice,
            value=value,
            title="Try initech",
            base_version=newest_version(timezones, staging()).number,
            environment=staging(),
        )
    [mail] = [m for m in mailoutbox if "Review requested" in m.subject]
    assert "data-pipelines/company-timezones@staging" in mail.subject
    assert "data-pipelines/company-timezones@staging" in mail.body


def test_webhook_payloads_name_the_environment(alice, carol, metrics, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(
        namespace=Namespace.objects.get(slug="sales-ops"),
        url="http://127.0.0.1:9/hook",
        events=["version.published", "change_request.opened"],
        actor=carol,
    )
    change_request = open_in_staging(metrics, alice, publish=True)
    opened, published = WebhookDelivery.objects.order_by("created_at", "id")
    assert json.loads(opened.body)["environment"] == "staging"
    body = json.loads(_body(published))
    assert (body["event"], body["key"], body["environment"]) == (
        "version.published",
        "custom-metrics",
        "staging",
    )
    assert body["change_request"] == change_request.pk


def test_editing_a_staging_change_request_keeps_it_in_staging(client, alice, metrics):
    from reviews.models import Change

    change_request = open_in_staging(metrics, alice)
    client.force_login(alice)
    edit = client.get(f"/changes/{change_request.pk}/edit/")
    assert edit.status_code == 200
    value = with_metric(metrics, "refunds", staging())
    response = client.post(
        f"/changes/{change_request.pk}/edit/",
        {"editor": "raw", "raw": json.dumps(value), "title": "Count refunds in staging"},
    )
    assert response.status_code == 302
    [change] = Change.objects.filter(change_request=change_request)
    assert change.environment_id == staging().id
    assert [m["name"] for m in change.value["metrics"]][-1] == "refunds"
