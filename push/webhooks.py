"""Webhook deliveries: signed POSTs from the task queue, retried with backoff for a day.

A change writes its deliveries (and their queued tasks, in the database backend of
django-tasks) in the same transaction as its feed event, so a delivery exists exactly when the
change does and the worker starts on it only after commit. Each attempt is a row with the
receiver's status (or why it could not be reached) and time.

The body is `{event, namespace, key, version, effective_at, change_request, at}`, signed as
`Config-Console-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
webhook's secret. Secrets are stored encrypted (Fernet, from the `cryptography` package) with a
key derived from `WEBHOOK_SECRET_KEY` (default: the Django secret key), so a database dump alone
does not reveal them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.bulk import insert_all
from push.models import ChangeEvent, Webhook, WebhookAttempt, WebhookDelivery

TIMEOUT = 10  # seconds a receiver has to answer
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=1)
USER_AGENT = "Config-Console-Webhooks/1"


# Secrets ----------------------------------------------------------------------------------------
def _fernet() -> Fernet:
    key = (settings.WEBHOOK_SECRET_KEY or settings.SECRET_KEY).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"webhook-secrets:" + key).digest()))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(webhook: Webhook) -> str:
    return _fernet().decrypt(webhook.secret_encrypted.encode()).decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Config-Console-Signature` header's value for `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# Targets ----------------------------------------------------------------------------------------
def check_target(url: str) -> None:
    """Refuse URLs that are not http(s), or whose host is a private, loopback, link-local or
    otherwise internal address (unless WEBHOOK_ALLOW_PRIVATE=1): the console must not be a way
    into the network it runs in."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"A webhook URL must start with http:// or https://, not {url!r}.")
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(f"The host {parts.hostname!r} could not be found.")
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                f"{parts.hostname} is a private, loopback or link-local address ({address}); "
                "webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=1 allows others)."
            )


# Queueing ---------------------------------------------------------------------------------------
def _event_name(event: ChangeEvent, scheduled_reached: bool) -> str:
    if event.kind == ChangeEvent.Kind.LIVE:
        return Webhook.Event.LIVE if scheduled_reached else Webhook.Event.PUBLISHED
    return Webhook.Event.CANCELLED if event.cancelled else Webhook.Event.SCHEDULED


def enqueue_for(events: list[ChangeEvent], *, scheduled_reached: bool = False) -> None:
    """Queue a delivery of each event to every webhook of its namespace that asked for it (call
    inside the events' transaction). One query for the webhooks and one insert for the
    deliveries, however many events (a schema change publishes thousands at once)."""
    hooks: dict[str, list[Webhook]] = {}
    namespaces = {event.namespace for event in events}
    for webhook in Webhook.objects.filter(namespace__slug__in=namespaces).select_related(
        "namespace"
    ):
        hooks.setdefault(webhook.namespace.slug, []).append(webhook)
    deliveries = [
        WebhookDelivery(webhook_id=webhook.pk, event=name, change_event_id=event.pk)
        for event in events
        for name in [_event_name(event, scheduled_reached)]
        for webhook in hooks.get(event.namespace, [])
        if name in webhook.events
    ]
    if not deliveries:
        return
    deliveries = insert_all(deliveries)
    if len(events) == 1:
        for delivery in deliveries:
            queue(delivery)
    else:
        # Many events at once: one task that queues each delivery's own when the worker picks
        # it up, rather than thousands of queued tasks written inside the publish. Either way
        # the deliveries exist, and are queued, exactly when the change commits.
        from push.tasks import queue_deliveries

        queue_deliveries.enqueue([str(delivery.pk) for delivery in deliveries])


# The audit actions of change requests that webhooks hear about, by the event they send. A
# draft's "opened" is left out (see enqueue_for_change_request): reviewers only hear of it once
# it is submitted, which sends `change_request.opened` then.
CHANGE_REQUEST_EVENTS = {
    "change_request.opened": Webhook.Event.CR_OPENED,
    "change_request.submitted": Webhook.Event.CR_OPENED,
    "change_request.approved": Webhook.Event.CR_APPROVED,
    "change_request.changes_requested": Webhook.Event.CR_CHANGES_REQUESTED,
    "change_request.published": Webhook.Event.CR_PUBLISHED,
    "change_request.withdrawn": Webhook.Event.CR_WITHDRAWN,
    "change_request.rejected": Webhook.Event.CR_REJECTED,
}


def enqueue_for_change_request(audit_event) -> None:
    """Queue a delivery of a change request's action to every webhook of its namespace that
    asked for it, from the action's audit event (inside the action's transaction).

    The body is fixed now, from the audit event, because nothing else keeps what the action
    was: the change request itself moves on to later states."""
    name = CHANGE_REQUEST_EVENTS.get(audit_event.action)
    if name is None or audit_event.target_type != "reviews.changerequest":
        return
    details = audit_event.details or {}
    if details.get("draft"):
        return
    subscribed = [
        webhook
        for webhook in Webhook.objects.filter(namespace__slug=audit_event.namespace)
        if name in webhook.events
    ]
    if not subscribed:
        return
    effective_at = details.get("effective_at")
    body = {
        "event": name,
        "namespace": audit_event.namespace,
        "key": audit_event.config,
        "version": details.get("version"),
        "effective_at": _timestamp(datetime.fromisoformat(effective_at)) if effective_at else None,
        "change_request": int(audit_event.target_id),
        "at": _timestamp(audit_event.at),
    }
    text = json.dumps(body, separators=(",", ":"))
    for webhook in subscribed:
        queue(WebhookDelivery.objects.create(webhook=webhook, event=name, body=text))


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def queue(delivery: WebhookDelivery, run_after: datetime | None = None) -> None:
    from push.tasks import deliver_webhook

    task = deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook
    task.enqueue(str(delivery.pk))


def _body(delivery: WebhookDelivery) -> str:
    from reviews.models import ChangeRequest

    event = delivery.change_event
    data: dict = {"event": delivery.event, "namespace": delivery.webhook.namespace.slug}
    if event is None:  # the test button's ping
        data.update(key=None, version=None, effective_at=None, change_request=None)
    else:
        change_request = (
            ChangeRequest.objects.filter(published_version_id=event.version_id)
            .values_list("pk", flat=True)
            .first()
        )
        data.update(
            key=event.key,
            version=event.number,
            effective_at=event.message()["effective_at"],
            change_request=change_request,
        )
    data["at"] = timezone.now().isoformat().replace("+00:00", "Z")
    return json.dumps(data, separators=(",", ":"))


def _wait_before(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, … doubling, at most 6 hours."""
    return min(FIRST_RETRY * 2 ** (attempt - 1), LONGEST_WAIT)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect could lead anywhere, including inside the network


def _post(delivery: WebhookDelivery, secret: str) -> tuple[int | None, str]:
    check_target(delivery.webhook.url)
    body = delivery.body.encode()
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Config-Console-Event": delivery.event,
            "Config-Console-Delivery": str(delivery.pk),
            "Config-Console-Signature": signature(secret, int(time.time()), body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects())
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"


def attempt(delivery_id: str) -> WebhookAttempt | None:
    """POST the delivery once, log the attempt, and queue the next one if it failed."""
    delivery = (
        WebhookDelivery.objects.select_related("webhook__namespace", "change_event")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return None
    if not delivery.body:
        delivery.body = _body(delivery)
        delivery.save(update_fields=["body"])
    started = time.monotonic()
    try:
        status_code, error = _post(delivery, decrypt_secret(delivery.webhook))
    except ValidationError as refused:
        status_code, error = None, " ".join(refused.messages)
    except (OSError, ValueError) as failure:
        status_code, error = None, str(getattr(failure, "reason", failure)) or "no answer"
    record = WebhookAttempt.objects.create(
        delivery=delivery,
        status_code=status_code,
        error=error[:1000],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    now = timezone.now()
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.DELIVERED, None
    else:
        tries = delivery.attempts.count()
        next_at = now + _wait_before(tries)
        if next_at - delivery.created_at > GIVE_UP_AFTER:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            delivery.next_attempt_at = next_at
            queue(delivery, run_after=next_at)
    delivery.save(update_fields=["status", "next_attempt_at"])
    return record
