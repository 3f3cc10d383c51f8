"""Webhook deliveries: signed POSTs from the task queue, retried with backoff for a day.

A change writes its deliveries (and their queued tasks, in the database backend of
django-tasks) in the same transaction as its feed event, so a delivery exists exactly when the
change does and the worker starts on it only after commit. Each attempt is a row with the
receiver's status (or why it could not be reached) and time.

The arrows point one way: deliveries.py (which deliveries a change makes) queues the tasks of
tasks.py (the worker's), which call `attempt` here (secrets, targets, one signed POST).

The body is `{event, namespace, key, environment, version, effective_at, change_request, at}`,
signed as `Config-Console-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
with the webhook's secret. Secrets are stored encrypted (Fernet, from the `cryptography`
package) with a key derived from `WEBHOOK_SECRET_KEY` (default: the Django secret key), so a
database dump alone does not reveal them.
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
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from configs import environments
from push.models import Webhook, WebhookAttempt, WebhookDelivery

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


# Sending ----------------------------------------------------------------------------------------
def _body(delivery: WebhookDelivery) -> str:
    from reviews.models import Change

    event = delivery.change_event
    data: dict = {"event": delivery.event, "namespace": delivery.webhook.namespace.slug}
    if event is None:  # the test button's ping
        data.update(
            key=None, environment=None, version=None, effective_at=None, change_request=None
        )
    else:
        change_request = (
            Change.objects.filter(published_version_id=event.version_id)
            .values_list("change_request_id", flat=True)
            .first()
        )
        data.update(
            key=event.key,
            # Events from before environments have none: they were the default one's.
            environment=environments.by_id(event.environment_id).name,
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
    """POST the delivery once, log the attempt and, if it failed, set when to try next
    (`next_attempt_at`; push/tasks.py queues that try) or give up."""
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
    delivery.save(update_fields=["status", "next_attempt_at"])
    return record
