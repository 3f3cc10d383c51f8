"""The change feed's events: one row per change a watcher hears about, in commit order."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from configs.models import Version


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
            "version": self.number,
            "effective_at": _timestamp(self.effective_at),
        }
        if self.kind == self.Kind.SCHEDULED:
            message["cancelled"] = self.cancelled
        return message


def _timestamp(value) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
