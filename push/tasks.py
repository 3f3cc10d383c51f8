"""Background work, run by the django-tasks database worker (`manage.py db_worker`), and its
queueing: deliveries.py and the services queue here, and the tasks call webhooks.py."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django_tasks import task

from push import webhooks
from push.models import WebhookDelivery


@task()
def deliver_webhook(delivery_id: str) -> None:
    """One attempt at a webhook delivery; a failed one queues the next at its time."""
    attempt = webhooks.attempt(delivery_id)
    if attempt is not None and attempt.delivery.next_attempt_at is not None:
        queue(attempt.delivery, run_after=attempt.delivery.next_attempt_at)


@task()
def queue_deliveries(delivery_ids: list[str]) -> None:
    """Queue each of many deliveries written together (a bulk publish), all or none."""
    with transaction.atomic():
        for delivery_id in delivery_ids:
            deliver_webhook.enqueue(delivery_id)


def queue(delivery: WebhookDelivery, run_after: datetime | None = None) -> None:
    task = deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook
    task.enqueue(str(delivery.pk))
