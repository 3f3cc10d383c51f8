"""Background work, run by the django-tasks database worker (`manage.py db_worker`)."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from push import webhooks


@task()
def deliver_webhook(delivery_id: str) -> None:
    """One attempt at a webhook delivery; a failed one queues the next (see webhooks.py)."""
    webhooks.attempt(delivery_id)


@task()
def queue_deliveries(delivery_ids: list[str]) -> None:
    """Queue each of many deliveries written together (a bulk publish), all or none."""
    with transaction.atomic():
        for delivery_id in delivery_ids:
            deliver_webhook.enqueue(delivery_id)
