"""Change requests and their reviews: the review gate's data."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from configs.models import Config, Version, canonical_json


def value_hash(value) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


class ChangeRequestNumber(models.Model):
    """One row per change request of either kind, config or schema: both take their ids from
    here, so an id names one change request and the same addresses (`/api/v1/change-requests/
    <id>/…`, `/changes/<id>/`) work for both. A table rather than a database sequence because
    SQLite has no sequence two tables can share."""

    class Kind(models.TextChoices):
        CONFIG = "config", "Config change"
        SCHEMA = "schema", "Schema change"

    kind = models.CharField(max_length=10, choices=Kind.choices)

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_kind_display().lower()})"


def take_number(record: models.Model, kind: str) -> None:
    """Give a new change request of either kind its id from the shared numbers."""
    if record.pk is None:
        record.pk = ChangeRequestNumber.objects.create(kind=kind).pk


class ChangeRequest(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        CONFLICTED = "conflicted", "Conflicted"
        # A draft whose base another change moved past: still the author's alone, to rebase.
        CONFLICTED_DRAFT = "conflicted_draft", "Conflicted draft"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # "In review": submitted, not yet published, rejected or withdrawn, and on the newest base.
    # The one definition; queues, counts, guards and the table below all use it.
    IN_REVIEW_STATES = (Status.IN_REVIEW, Status.APPROVED, Status.CHANGES_REQUESTED)
    # In review and not yet approved: what still waits in reviewers' queues.
    AWAITING_APPROVAL = (Status.IN_REVIEW, Status.CHANGES_REQUESTED)
    DRAFTS = (Status.DRAFT, Status.CONFLICTED_DRAFT)
    OPEN = (*DRAFTS, *IN_REVIEW_STATES, Status.CONFLICTED)

    # What each action may start from: the services' guards and the console's offered actions
    # both read this table, and nothing else says which state allows what.
    ACTIONS: dict[str, frozenset[str]] = {
        "edit": frozenset({Status.DRAFT, *IN_REVIEW_STATES}),
        "submit": frozenset({Status.DRAFT}),
        "approve": frozenset(IN_REVIEW_STATES),
        "request_changes": frozenset(IN_REVIEW_STATES),
        "comment": frozenset(Status),
        "withdraw": frozenset(OPEN),
        "reject": frozenset({*IN_REVIEW_STATES, Status.CONFLICTED}),
        "publish": frozenset(IN_REVIEW_STATES),
        "bypass": frozenset(IN_REVIEW_STATES),
        "rebase": frozenset({Status.CONFLICTED, Status.CONFLICTED_DRAFT}),
    }

    config = models.ForeignKey(Config, on_delete=models.PROTECT, related_name="change_requests")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_requests"
    )
    base_version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    value = models.JSONField()
    value_hash = models.CharField(max_length=64, editable=False)
    revision = models.PositiveIntegerField(default=1, help_text="Counts the author's edits.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_REVIEW)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_version = models.OneToOneField(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="change_request"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["config", "status"], name="cr_config_status_idx"),
            # Reviewers' queues (open states, oldest first) and authors' lists (newest first).
            models.Index(fields=["status", "created_at"], name="cr_status_created_idx"),
            models.Index(fields=["author", "-updated_at", "-id"], name="cr_author_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def save(self, *args, **kwargs):
        self.value_hash = value_hash(self.value)
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


class Review(models.Model):
    """A reviewer's verdict on one exact proposed value."""

    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approved"
        REQUEST_CHANGES = "request_changes", "Requested changes"

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    value_hash = models.CharField(max_length=64)
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
    "ChangeRequest",
    "ChangeRequestNumber",
    "Comment",
    "Review",
    "SchemaChangeItem",
    "SchemaChangeRequest",
    "SchemaReview",
    "value_hash",
]
