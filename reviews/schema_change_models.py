"""Schema change requests: a new schema version together with the new values of every config
whose live or scheduled value it would reject, reviewed and published as one unit.

Their own models rather than a kind of `ChangeRequest`: a change request belongs to one config
and proposes one value, and every rule of the gate, the preview reads and the console's pages
rely on that. A schema change request belongs to a schema and carries many values (one item per
affected config, each with its own base version). It shares the change request's states, its
action table and its numbers (`ChangeRequestNumber`), so the same words, the same guards and
the same addresses apply to both."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from configs.models import (
    Config,
    OrderedJSONField,
    Schema,
    SchemaVersion,
    Version,
    schema_text,
)
from reviews.numbers import ChangeRequestNumber, take_number
from reviews.states import ACTIONS, DRAFTS, OPEN, Status, Verdict


def proposal_hash(body: dict, items) -> str:
    """What an approval is for: the schema (in its author's order, which the form shows) and
    every item's (config, base, value, migrated)."""
    digest = hashlib.sha256(schema_text(body).encode())
    for config_id, base_id, value_json, _migrated in sorted(items):
        digest.update(f"|{config_id}:{base_id}:".encode() + value_json.encode())
    return digest.hexdigest()


class SchemaChangeRequest(models.Model):
    schema = models.ForeignKey(Schema, on_delete=models.PROTECT, related_name="change_requests")
    base_version = models.ForeignKey(SchemaVersion, on_delete=models.PROTECT, related_name="+")
    body = OrderedJSONField(help_text="The proposed schema (Draft 2020-12).")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_REVIEW)
    revision = models.PositiveIntegerField(default=1)
    proposal_hash = models.CharField(
        max_length=64, editable=False, help_text="Of the schema and every value: what is approved."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_version = models.OneToOneField(
        SchemaVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_request",
    )

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"schema change #{self.pk} {self.title}"

    def save(self, *args, **kwargs):
        take_number(self, ChangeRequestNumber.Kind.SCHEMA)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("reviews:schema_change", args=[self.pk])

    def allows(self, action: str) -> bool:
        return self.status in ACTIONS[action]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_draft(self) -> bool:
        """Not submitted for review yet: its author's alone, and nobody reviews it."""
        return self.status in DRAFTS


class SchemaChangeItem(models.Model):
    """One affected config's new value, based on its newest version when it was proposed."""

    change_request = models.ForeignKey(
        SchemaChangeRequest, on_delete=models.CASCADE, related_name="items"
    )
    config = models.ForeignKey(Config, on_delete=models.PROTECT, related_name="+")
    base_version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField()
    migrated = models.BooleanField(
        default=False, help_text="Filled in from the schema's defaults rather than by a person."
    )
    problems = models.JSONField(
        default=list,
        blank=True,
        help_text="What the new schema rejects in this value, [{path, message}]: only a draft "
        "holds values with problems, and it cannot be submitted until none is left.",
    )
    published_version = models.OneToOneField(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["change_request", "config__namespace__slug", "config__key"]
        constraints = [
            models.UniqueConstraint(fields=["change_request", "config"], name="one_item_per_config")
        ]

    def __str__(self) -> str:
        return f"{self.config} in schema change #{self.change_request_id}"


class SchemaReview(models.Model):
    """A reviewer's verdict on one exact proposal: the schema and all its values."""

    change_request = models.ForeignKey(
        SchemaChangeRequest, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The same two verdicts as on a change request.
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    proposal_hash = models.CharField(max_length=64)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "reviewer"],
                condition=Q(dismissed_at__isnull=True),
                name="one_standing_schema_verdict",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.verdict} schema change #{self.change_request_id}"
