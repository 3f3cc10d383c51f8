"""The change feed's events: one row per change a watcher hears about, in commit order."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from configs import environments
from configs.models import Environment, Version


class ChangeEvent(models.Model):
    """A config's live version changed (`live`), or a future version was published or
    cancelled (`scheduled`). Ids increase in commit order, so a listener resumes after the
    last id it saw and misses nothing."""

    class Kind(models.TextChoices):
        LIVE = "live"
        SCHEDULED = "scheduled"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    namespace = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    # The version's environment (empty on events from before environments: the default one's).
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    effective_at = models.DateTimeField()
    cancelled = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A scheduled version goes live once, whichever server notices its time first.
            models.UniqueConstraint(
                fields=["version"], condition=Q(kind="live"), name="one_live_event_per_version"
            )
        ]
        indexes = [
            models.Index(fields=["namespace", "id"], name="event_namespace_idx"),
            models.Index(fields=["kind", "effective_at"], name="event_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.key} v{self.number}"

    def message(self) -> dict:
        """What listeners are told, and what the watch stream's `data:` holds (plus the id)."""
        message = {
            "id": self.id,
            "kind": self.kind,
            "namespace": self.namespace,
            "key": self.key,
            "environment": environments.by_id(self.environment_id).name,
            "version": self.number,
            "effective_at": _timestamp(self.effective_at),
            # For the servers' read memory (push/memory.py); not part of the watch stream.
            "version_id": self.version_id,
            "environment_id": environments.id_of(environments.by_id(self.environment_id)),
        }
        if self.kind == self.Kind.SCHEDULED:
            message["cancelled"] = self.cancelled
        return message


def _timestamp(value) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Webhook(models.Model):
    """A URL a namespace's admins asked to be told about its changes, with a shared secret."""

    class Event(models.TextChoices):
        PUBLISHED = "version.published", "A version is published and live at once"
        SCHEDULED = "version.scheduled", "A version is published for a later time"
        LIVE = "version.live", "A scheduled version takes effect"
        CANCELLED = "version.cancelled", "A scheduled version is cancelled"
        CR_OPENED = "change_request.opened", "A change request is opened for review"
        CR_EDITED = "change_request.edited", "A change request's author changes its values"
        CR_APPROVED = "change_request.approved", "A change request is approved"
        CR_CHANGES_REQUESTED = (
            "change_request.changes_requested",
            "A reviewer requests changes to a change request",
        )
        CR_CONFLICTED = (
            "change_request.conflicted",
            "A config in a change request moved on: it needs a rebase",
        )
        CR_REBASED = "change_request.rebased", "A change request is rebased and back in review"
        CR_PUBLISHED = "change_request.published", "A change request is published"
        CR_WITHDRAWN = "change_request.withdrawn", "A change request is withdrawn"
        CR_REJECTED = "change_request.rejected", "A change request is rejected"

    namespace = models.ForeignKey(
        "configs.Namespace", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    # Encrypted with a key from the settings (push/webhooks.py), so a dump alone does not
    # reveal it; shown in clear only once, when the webhook is made.
    secret_encrypted = models.TextField(editable=False)
    events = models.JSONField(default=list, help_text="Which Event values to send.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace", "url"]

    def __str__(self) -> str:
        return f"{self.namespace.slug} → {self.url}"


class WebhookDelivery(models.Model):
    """One event for one webhook: sent until the receiver says 2xx, or for at most a day."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed", "failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    change_event = models.ForeignKey(
        ChangeEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    body = models.TextField(blank=True, help_text="The exact JSON sent, fixed at the first try.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook.url}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, and what the receiver answered (or why it could not)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
