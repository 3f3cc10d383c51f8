"""Changes to webhooks: made, removed, tried, redelivered (namespace admins only)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from configs import access
from configs.models import Namespace, Role
from push import tasks, webhooks
from push.models import Webhook, WebhookDelivery

SECRET_PREFIX = "whsec_"


@transaction.atomic
def webhook_create(
    *, namespace: Namespace, url: str, events: list[str], actor
) -> tuple[Webhook, str]:
    """A webhook for `namespace`; returns it with its secret, shown only this once."""
    access.ensure_role(actor, namespace, Role.ADMIN, "manage webhooks")
    url = (url or "").strip()
    webhooks.check_target(url)
    unknown = set(events) - set(Webhook.Event.values)
    if unknown or not events:
        raise ValidationError("Choose at least one of the events a webhook can send.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook(
        namespace=namespace,
        url=url,
        events=sorted(events),
        secret_encrypted=webhooks.encrypt_secret(secret),
        created_by=actor,
    )
    webhook.full_clean(exclude=["secret_encrypted", "created_by"])
    webhook.save()
    record(
        "webhook.created",
        actor=actor,
        target=webhook,
        namespace=namespace.slug,
        details={"url": url, "events": webhook.events},
    )
    return webhook, secret


@transaction.atomic
def webhook_remove(*, webhook: Webhook, actor, reason: str = "") -> None:
    """Stop sending to `webhook` and forget it with its deliveries."""
    access.ensure_role(actor, webhook.namespace, Role.ADMIN, "manage webhooks")
    record(
        "webhook.removed",
        actor=actor,
        target=webhook,
        namespace=webhook.namespace.slug,
        reason=reason,
        details={"url": webhook.url, "events": webhook.events},
    )
    webhook.delete()


@transaction.atomic
def webhook_ping(*, webhook: Webhook, actor) -> WebhookDelivery:
    """Queue a signed `ping` delivery, so an admin sees the receiver answer (the test button)."""
    access.ensure_role(actor, webhook.namespace, Role.ADMIN, "manage webhooks")
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="ping")
    tasks.queue(delivery)
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery again now, with the same id and body, whatever became of it."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    access.ensure_role(actor, delivery.webhook.namespace, Role.ADMIN, "manage webhooks")
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at"])
    tasks.queue(delivery)
    return delivery
