"""Background work, run by the django-tasks database worker (`manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from push import webhooks


@task()
def deliver_webhook(delivery_id: str) -> None:
    """One attempt at a webhook delivery; a failed one queues the next (see webhooks.py)."""
    webhooks.attempt(delivery_id)
