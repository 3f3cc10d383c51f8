"""Change requests and their reviews: the review gate's data."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property
from simple_history.models import HistoricalRecords

from configs.models import Config, Namespace, Version, canonical_json
from reviews.numbers import ChangeRequestNumber, take_number
from reviews.states import (
    ACTIONS,
    AWAITING_APPROVAL,
    DRAFTS,
    IN_REVIEW_STATES,
    OPEN,
    Status,
    Verdict,
)


def changes_hash(changes) -> str:
    """What an approval is for: every change of the set, as (config id, base version id,
    value and overrides), in a fixed order."""
    digest = hashlib.sha256()
    for config_id, base_id, value in sorted(
        (c.config_id, c.base_version_id, _reviewed(c)) for c in changes
    ):
        digest.update(f"|{config_id}:{base_id}:".encode() + value.encode())
    return digest.hexdigest()


def _reviewed(change) -> str:
    # Without overrides, the text hashed before overrides existed: standing approvals still hold.
    text = canonical_json(change.value)
    overrides = getattr(change, "overrides", None)
    return f"{text}|overrides:{canonical_json(overrides)}" if overrides else text


class ChangeRequest(models.Model):
    """A set of changes reviewed and published as one: usually one config's new value, or
    several configs' (in one namespace or several), or a new config's first value. Approvals
    are for the exact set (`proposal_hash`), and publishing writes every change or none."""

    # The states and the action table, written once (reviews/states.py) and named here too.
    Status = Status
    IN_REVIEW_STATES = IN_REVIEW_STATES
    AWAITING_APPROVAL = AWAITING_APPROVAL
    DRAFTS = DRAFTS
    OPEN = OPEN
    ACTIONS = ACTIONS

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    proposal_hash = models.CharField(
        max_length=64, editable=False, help_text="Of every change in the set: what is approved."
    )
    revision = models.PositiveIntegerField(default=1, help_text="Counts the author's edits.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_REVIEW)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # Reviewers' queues (open states, oldest first) and authors' lists (newest first).
            models.Index(fields=["status", "created_at"], name="cr_status_created_idx"),
            models.Index(fields=["author", "-updated_at", "-id"], name="cr_author_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def save(self, *args, **kwargs):
        take_number(self, ChangeRequestNumber.Kind.CONFIG)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("reviews:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_draft(self) -> bool:
        """Not submitted for review yet (conflicted or not): nobody reviews it."""
        return self.status in self.DRAFTS

    def allows(self, action: str) -> bool:
        """Whether `action` may start from this change request's state (not who may take it)."""
        return self.status in self.ACTIONS[action]

    @cached_property
    def change_list(self) -> list[Change]:
        """Its changes, ordered by namespace and key (from a prefetch when there is one)."""
        return list(self.changes.all())

    @property
    def change(self) -> Change:
        """Its first change: the only one of the common one-config change request."""
        return self.change_list[0]

    @property
    def is_single(self) -> bool:
        return len(self.change_list) == 1

    # The one-config shortcut's fields (its API answer and its page read them): those of the
    # first change.
    @property
    def config(self) -> Config:
        return self.change.config

    @property
    def config_id(self) -> int:
        return self.change.config_id

    @property
    def value(self):
        return self.change.value

    @property
    def base_version(self) -> Version | None:
        return self.change.base_version

    @property
    def published_version(self) -> Version | None:
        return self.change.published_version

    @property
    def namespaces(self) -> list[Namespace]:
        """The namespaces its changes touch, by slug."""
        seen = {c.config.namespace_id: c.config.namespace for c in self.change_list}
        return sorted(seen.values(), key=lambda ns: ns.slug)

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self.forget_changes()

    def forget_changes(self) -> None:
        """Read the changes again on next use (after a service rewrote them)."""
        self.__dict__.pop("change_list", None)
        if hasattr(self, "_prefetched_objects_cache"):
            self._prefetched_objects_cache.pop("changes", None)


class Change(models.Model):
    """One config's proposed value in a change request, based on its newest version when it
    was proposed (none for a new config's first value)."""

    class Kind(models.TextChoices):
        CONFIG = "config", "Config change"
        NEW_CONFIG = "new_config", "New config"

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONFIG)
    config = models.ForeignKey(Config, on_delete=models.PROTECT, related_name="changes")
    base_version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    value = models.JSONField()
    overrides = models.JSONField(default=list, blank=True)
    published_version = models.OneToOneField(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="change"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["change_request_id", "config__namespace__slug", "config__key"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "config"], name="one_change_per_config"
            )
        ]
        indexes = [models.Index(fields=["config", "change_request"], name="change_config_cr_idx")]

    def __str__(self) -> str:
        return f"{self.config} in #{self.change_request_id}"

    @property
    def label(self) -> str:
        """How errors and events name the change: "namespace/key"."""
        return str(self.config)

    @property
    def base_version_number(self) -> int | None:
        return self.base_version.number if self.base_version_id else None


class Review(models.Model):
    """A reviewer's verdict on one exact proposed value."""

    Verdict = Verdict

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    proposal_hash = models.CharField(max_length=64)
    revision = models.PositiveIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when an edit of the proposal or the reviewer's own later verdict replaces this one.
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "reviewer"],
                condition=Q(dismissed_at__isnull=True),
                name="one_standing_verdict_per_reviewer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.get_verdict_display().lower()} #{self.change_request_id}"


class Comment(models.Model):
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} on #{self.change_request_id}"


# Schema change requests live in their own module; importing them here registers the models.
from reviews.schema_change_models import (  # noqa: E402
    SchemaChangeItem,
    SchemaChangeRequest,
    SchemaReview,
)

__all__ = [
    "Change",
    "ChangeRequest",
    "ChangeRequestNumber",
    "Comment",
    "Review",
    "SchemaChangeItem",
    "SchemaChangeRequest",
    "SchemaReview",
    "changes_hash",
]
