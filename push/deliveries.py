"""Which webhook deliveries a change makes: written, and their tasks queued, inside the change's
transaction, so a delivery exists exactly when the change does (the worker starts on it only
after commit). Sending them is tasks.py's and webhooks.py's.
"""

from __future__ import annotations

import json
from datetime import datetime

from common.bulk import insert_all
from push import tasks
from push.models import ChangeEvent, Webhook, WebhookDelivery


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
            tasks.queue(delivery)
    else:
        # Many events at once: one task that queues each delivery's own when the worker picks
        # it up, rather than thousands of queued tasks written inside the publish. Either way
        # the deliveries exist, and are queued, exactly when the change commits.
        tasks.queue_deliveries.enqueue([str(delivery.pk) for delivery in deliveries])


# The audit actions of change requests that webhooks hear about, by the event they send. A
# draft's "opened" is left out (see enqueue_for_change_request): reviewers only hear of it once
# it is submitted, which sends `change_request.opened` then.
CHANGE_REQUEST_EVENTS = {
    "change_request.opened": Webhook.Event.CR_OPENED,
    "change_request.submitted": Webhook.Event.CR_OPENED,
    "change_request.approved": Webhook.Event.CR_APPROVED,
    "change_request.edited": Webhook.Event.CR_EDITED,
    "change_request.changes_requested": Webhook.Event.CR_CHANGES_REQUESTED,
    "change_request.conflicted": Webhook.Event.CR_CONFLICTED,
    "change_request.rebased": Webhook.Event.CR_REBASED,
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
    # An event about a change request of several configs names their namespaces in its
    # details (the event itself names one only when they share it); each namespace's
    # webhooks hear of it, with the key when the set changes one config there.
    labels = details.get("changes") or [f"{audit_event.namespace}/{audit_event.config}"]
    keys: dict[str, list[str]] = {}
    for label in labels:
        # "namespace/key", with "@environment" outside the default environment.
        namespace, _, key = label.partition("@")[0].partition("/")
        keys.setdefault(namespace, []).append(key)
    subscribed = [
        webhook
        for webhook in Webhook.objects.filter(namespace__slug__in=keys).select_related("namespace")
        if name in webhook.events
    ]
    effective_at = details.get("effective_at")
    for webhook in subscribed:
        namespace = webhook.namespace.slug
        body = {
            "event": name,
            "namespace": namespace,
            "key": keys[namespace][0] if len(keys[namespace]) == 1 else None,
            # The environment its changes are for (None: several, or a schema's change).
            "environment": details.get("environment"),
            "version": details.get("version"),
            "effective_at": _timestamp(datetime.fromisoformat(effective_at))
            if effective_at
            else None,
            "change_request": int(audit_event.target_id),
            "at": _timestamp(audit_event.at),
        }
        text = json.dumps(body, separators=(",", ":"))
        tasks.queue(WebhookDelivery.objects.create(webhook=webhook, event=name, body=text))


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
