"""Webhooks against a local receiver: signed, retried with backoff, given up after a day,
redeliverable, never to a private address unless allowed; managed by namespace admins."""

import copy
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from configs.models import Config, Namespace
from configs.selectors import newest_version
from push import webhooks
from push.models import Webhook, WebhookDelivery
from push.services import delivery_redeliver, webhook_create, webhook_ping
from push.tasks import deliver_webhook
from reviews import services as review_services
from tests.push.conftest import publish_metric

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with the queued statuses, then 200."""

    def __init__(self):
        self.statuses = []
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def sales_ops(demo):
    return Namespace.objects.get(slug="sales-ops")


@pytest.fixture
def queued():
    default_task_backend.results.clear()
    return default_task_backend.results


def hook(namespace, url, carol, events=("version.published",)):
    return webhook_create(namespace=namespace, url=url, events=list(events), actor=carol)


def only_delivery():
    return WebhookDelivery.objects.get()


def test_a_publish_sends_a_signed_delivery(receiver, sales_ops, carol, queued):
    webhook, secret = hook(sales_ops, receiver.url, carol)

    version = publish_metric(carol, "signups")

    delivery = only_delivery()
    assert [result.args for result in queued] == [[str(delivery.pk)]]
    deliver_webhook.call(str(delivery.pk))  # what the worker does with the queued task
    headers, body = receiver.received[0]
    timestamp, digest = (
        part.split("=", 1)[1] for part in headers["Config-Console-Signature"].split(",")
    )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(digest, expected.hexdigest())
    assert headers["Config-Console-Event"] == "version.published"
    assert headers["Config-Console-Delivery"] == str(delivery.pk)
    data = json.loads(body)
    assert {k: data[k] for k in ("event", "namespace", "key", "version")} == {
        "event": "version.published",
        "namespace": "sales-ops",
        "key": "custom-metrics",
        "version": version.number,
    }
    assert data["change_request"] is not None and data["at"]
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_events_not_asked_for_are_not_sent(receiver, sales_ops, carol, queued):
    hook(sales_ops, receiver.url, carol, events=["version.cancelled"])

    publish_metric(carol, "signups")

    assert not WebhookDelivery.objects.exists()
    assert queued == []


def test_a_failed_delivery_is_retried_with_growing_waits(receiver, sales_ops, carol, queued):
    hook(sales_ops, receiver.url, carol)
    receiver.statuses = [500, 503]
    publish_metric(carol, "signups")
    delivery = only_delivery()

    waits = []
    for _ in range(3):
        before = timezone.now()
        deliver_webhook.call(str(delivery.pk))
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - before).total_seconds())

    assert [a.status_code for a in delivery.attempts.all()] == [500, 503, 200]
    assert delivery.status == "delivered"
    assert 29 <= waits[0] <= 31 and 59 <= waits[1] <= 61
    assert [result.task.run_after is not None for result in queued] == [False, True, True]


def test_a_delivery_is_given_up_after_a_day(receiver, sales_ops, carol):
    hook(sales_ops, receiver.url, carol)
    receiver.statuses = [500] * 100
    publish_metric(carol, "signups")
    delivery = only_delivery()

    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59, seconds=45)):
        deliver_webhook.call(str(delivery.pk))

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts.count() == 1
    deliver_webhook.call(str(delivery.pk))
    assert delivery.attempts.count() == 1  # nothing more is sent


def test_a_delivery_can_be_redelivered(receiver, sales_ops, carol, queued):
    hook(sales_ops, receiver.url, carol)
    publish_metric(carol, "signups")
    delivery = only_delivery()
    deliver_webhook.call(str(delivery.pk))

    delivery_redeliver(delivery=delivery, actor=carol)
    deliver_webhook.call(str(delivery.pk))

    assert delivery.attempts.count() == 2
    assert receiver.received[0][1] == receiver.received[1][1]  # the same body, the same id
    assert len(queued) == 2


def test_the_test_button_sends_a_ping(receiver, sales_ops, carol):
    webhook, _ = hook(sales_ops, receiver.url, carol)

    delivery = webhook_ping(webhook=webhook, actor=carol)
    deliver_webhook.call(str(delivery.pk))

    assert json.loads(receiver.received[0][1])["event"] == "ping"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://192.168.0.1/hook",
        "ftp://93.184.216.34/hook",
    ],
)
def test_private_and_odd_targets_are_refused(sales_ops, carol, url):
    with pytest.raises(ValidationError):
        hook(sales_ops, url, carol)


def test_a_private_target_is_refused_at_delivery_too(receiver, sales_ops, carol, settings):
    hook(sales_ops, receiver.url, carol)
    publish_metric(carol, "signups")
    settings.WEBHOOK_ALLOW_PRIVATE = False

    deliver_webhook.call(str(only_delivery().pk))

    assert receiver.received == []
    assert "private" in only_delivery().attempts.get().error


def test_only_admins_manage_webhooks(sales_ops, bob):
    with pytest.raises(PermissionDenied):
        hook(sales_ops, "https://93.184.216.34/hook", bob)


def test_the_secret_is_not_stored_in_clear(sales_ops, carol):
    webhook, secret = hook(sales_ops, "https://93.184.216.34/hook", carol)

    stored = Webhook.objects.values_list("secret_encrypted", flat=True).get(pk=webhook.pk)
    assert secret not in stored
    assert webhooks.decrypt_secret(webhook) == secret


def test_an_admin_adds_a_webhook_in_the_console_and_sees_its_secret_once(client, carol):
    client.force_login(carol)
    page = "/namespaces/sales-ops/webhooks/"

    response = client.post(
        page, {"url": "https://93.184.216.34/hook", "events": ["version.published"]}, follow=True
    )

    assert response.status_code == 200
    assert b"shown only this once" in response.content
    assert b"whsec_" in response.content
    again = client.get(page)
    assert b"whsec_" not in again.content
    assert b"https://93.184.216.34/hook" in again.content


def test_an_admin_chooses_change_request_events_in_the_console(client, carol):
    client.force_login(carol)
    page = "/namespaces/sales-ops/webhooks/"
    assert b'value="change_request.approved"' in client.get(page).content

    client.post(
        page,
        {"url": "https://93.184.216.34/hook", "events": ["change_request.approved"]},
        follow=True,
    )

    assert Webhook.objects.get().events == ["change_request.approved"]


def test_people_who_are_not_admins_get_404(client, bob):
    client.force_login(bob)

    assert client.get("/namespaces/sales-ops/webhooks/").status_code == 404


def test_the_webhooks_page_lists_the_namespaces_a_person_administers(client, carol, bob):
    client.force_login(carol)
    assert b"/namespaces/sales-ops/webhooks/" in client.get("/webhooks/").content
    client.force_login(bob)
    assert b"/namespaces/sales-ops/webhooks/" not in client.get("/webhooks/").content


def open_metric_change(author, name, draft=False):
    config = Config.objects.get(namespace__slug="sales-ops", key="custom-metrics")
    version = newest_version(config)
    value = copy.deepcopy(version.value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    return review_services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Count {name}",
        base_version=version.number,
        draft=draft,
    )


def test_an_approval_sends_a_signed_change_request_event(receiver, sales_ops, alice, bob, carol):
    webhook, secret = hook(sales_ops, receiver.url, carol, events=["change_request.approved"])
    change = open_metric_change(alice, "signups")

    review_services.change_request_approve(change_request=change, reviewer=bob)

    delivery = only_delivery()
    deliver_webhook.call(str(delivery.pk))
    headers, body = receiver.received[0]
    timestamp, digest = (
        part.split("=", 1)[1] for part in headers["Config-Console-Signature"].split(",")
    )
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(digest, expected.hexdigest())
    assert headers["Config-Console-Event"] == "change_request.approved"
    data = json.loads(body)
    assert data["at"]
    del data["at"]
    assert data == {
        "event": "change_request.approved",
        "namespace": "sales-ops",
        "key": "custom-metrics",
        "environment": "production",
        "version": None,
        "effective_at": None,
        "change_request": change.pk,
    }


def test_change_request_events_follow_its_life(receiver, sales_ops, alice, bob, carol, queued):
    events = [value for value, _ in Webhook.Event.choices if value.startswith("change_request.")]
    hook(sales_ops, receiver.url, carol, events=events)
    draft = open_metric_change(alice, "signups", draft=True)
    assert not WebhookDelivery.objects.exists()  # a draft is nobody else's business yet

    review_services.change_request_submit(change_request=draft, actor=alice)
    review_services.change_request_request_changes(
        change_request=draft, reviewer=bob, comment="Name it sign_ups"
    )
    review_services.change_request_approve(change_request=draft, reviewer=bob)
    review_services.change_request_publish(change_request=draft, actor=bob)
    other = open_metric_change(alice, "logins")
    review_services.change_request_reject(change_request=other, actor=bob, reason="Not needed")
    withdrawn = open_metric_change(alice, "visits")
    review_services.change_request_withdraw(change_request=withdrawn, actor=alice)

    sent = [
        (d.event, json.loads(d.body)["change_request"])
        for d in WebhookDelivery.objects.order_by("created_at")
    ]
    assert sent == [
        ("change_request.opened", draft.pk),
        ("change_request.changes_requested", draft.pk),
        ("change_request.approved", draft.pk),
        ("change_request.published", draft.pk),
        ("change_request.opened", other.pk),
        ("change_request.rejected", other.pk),
        ("change_request.opened", withdrawn.pk),
        ("change_request.withdrawn", withdrawn.pk),
    ]
    published = json.loads(WebhookDelivery.objects.get(event="change_request.published").body)
    version = newest_version(draft.config)
    assert published["version"] == version.number
    assert published["effective_at"] == version.effective_at.isoformat().replace("+00:00", "Z")
    assert len(queued) == len(sent)


def test_change_request_events_not_asked_for_are_not_sent(
    receiver, sales_ops, alice, bob, carol, queued
):
    hook(sales_ops, receiver.url, carol, events=["change_request.published"])
    change = open_metric_change(alice, "signups")

    review_services.change_request_approve(change_request=change, reviewer=bob)

    assert not WebhookDelivery.objects.exists()
    assert queued == []


def test_no_change_request_event_when_the_action_rolls_back(
    receiver, sales_ops, alice, bob, carol, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as deployed
    hook(sales_ops, receiver.url, carol, events=["change_request.approved"])
    change = open_metric_change(alice, "signups")

    with pytest.raises(RuntimeError), transaction.atomic():
        review_services.change_request_approve(change_request=change, reviewer=bob)
        # Queued inside the approval's transaction: delivery and task row alike.
        assert WebhookDelivery.objects.count() == 1 and DBTaskResult.objects.count() == 1
        raise RuntimeError("the request failed after the approval")

    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_conflicted_and_rebased_change_requests_are_sent_too(
    receiver, sales_ops, alice, bob, carol, queued
):
    hook(
        sales_ops,
        receiver.url,
        carol,
        events=["change_request.conflicted", "change_request.rebased"],
    )
    first = open_metric_change(alice, "signups")
    second = open_metric_change(carol, "logins")
    review_services.change_request_publish(change_request=second, actor=bob)

    merged = copy.deepcopy(newest_version(first.config).value)
    merged["metrics"].append({"name": "signups", "kind": "count", "event": "signups"})
    review_services.change_request_rebase(change_request=first, actor=alice, value=merged)

    sent = [
        (d.event, json.loads(d.body)["change_request"], json.loads(d.body)["key"])
        for d in WebhookDelivery.objects.order_by("created_at")
    ]
    assert sent == [
        ("change_request.conflicted", first.pk, "custom-metrics"),
        ("change_request.rebased", first.pk, "custom-metrics"),
    ]


def test_a_change_request_across_namespaces_is_sent_to_each_namespaces_webhooks(
    receiver, sales_ops, alice, bob, carol, queued
):
    pipelines = Namespace.objects.get(slug="data-pipelines")
    hook(sales_ops, receiver.url, carol, events=["change_request.opened"])
    hook(pipelines, receiver.url, carol, events=["change_request.opened"])
    metrics = Config.objects.get(namespace=sales_ops, key="custom-metrics")
    timezones = Config.objects.get(namespace=pipelines, key="company-timezones")
    value = copy.deepcopy(newest_version(metrics).value)
    value["metrics"].append({"name": "signups", "kind": "count", "event": "signups"})
    zones = copy.deepcopy(newest_version(timezones).value)
    zones["companies"].append({"company_id": "hooli", "timezone": "UTC"})

    change = review_services.change_request_open(
        author=alice,
        title="Onboard hooli",
        changes=[
            review_services.Proposed(metrics, value, newest_version(metrics).number),
            review_services.Proposed(timezones, zones, newest_version(timezones).number),
        ],
    )

    bodies = sorted(
        (body["namespace"], body["key"], body["change_request"])
        for body in (json.loads(d.body) for d in WebhookDelivery.objects.all())
    )
    assert bodies == [
        ("data-pipelines", "company-timezones", change.pk),
        ("sales-ops", "custom-metrics", change.pk),
    ]


def test_a_schema_change_is_sent_like_any_change_request(receiver, alice, bob, carol, queued):
    """A schema change's life reaches the webhooks of the namespaces whose configs change (it
    sent none before it was a change request)."""
    pipelines = Namespace.objects.get(slug="data-pipelines")
    hook(
        pipelines,
        receiver.url,
        carol,
        events=["change_request.opened", "change_request.approved", "change_request.published"],
    )
    timezones = Config.objects.get(namespace=pipelines, key="company-timezones")
    body = copy.deepcopy(timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "default": "data"}
    item["required"] = [*item["required"], "owner_team"]

    change = review_services.schema_change_open(
        schema=timezones.schema,
        author=carol,
        body=body,
        base_version=timezones.schema.versions.latest("number").number,
        title="Every company has an owner team",
    )
    review_services.change_request_approve(change_request=change, reviewer=bob)
    review_services.change_request_publish(change_request=change, actor=bob)

    sent = [
        (d.event, json.loads(d.body)["change_request"], json.loads(d.body)["namespace"])
        for d in WebhookDelivery.objects.order_by("created_at", "id")
    ]
    assert sent == [
        ("change_request.opened", change.pk, "data-pipelines"),
        ("change_request.approved", change.pk, "data-pipelines"),
        ("change_request.published", change.pk, "data-pipelines"),
    ]
