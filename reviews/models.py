"""Change requests and their reviews: the review gate's data."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Exists, Q
from django.urls import reverse
from django.utils.functional import cached_property
from simple_history.models import HistoricalRecords

from configs import environments
from configs.models import (
    Config,
    Environment,
    Namespace,
    OrderedJSONField,
    Schema,
    SchemaVersion,
    Version,
    canonical_json,
    schema_text,
)
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


def changes_hash(changes, body: dict | None = None) -> str:
    """What an approval is for: the proposed schema (`body`, in its author's order, which the
    form shows) when the set changes one, then every config change of the set, as (config id,
    base version id, value and overrides), in a fixed order. `changes` are Changes or such rows
    as tuples."""
    digest = hashlib.sha256(schema_text(body).encode() if body is not None else b"")
    rows = (
        (c.config_id, c.base_version_id, _reviewed(c)) if isinstance(c, Change) else c
        for c in changes
    )
    for config_id, base_id, value in sorted(row for row in rows if row[0] is not None):
        # A base version names its environment; a change without one (a new config) is for
        # every environment.
        digest.update(f"|{config_id}:{base_id}:".encode() + value.encode())
    return digest.hexdigest()


def _reviewed(change) -> str:
    # Without overrides, the text hashed before overrides existed: standing approvals still hold.
    text = canonical_json(change.value)
    overrides = getattr(change, "overrides", None)
    return f"{text}|overrides:{canonical_json(overrides)}" if overrides else text


class ChangeRequest(models.Model):
    """A set of changes reviewed and published as one: usually one config's new value, or
    several configs' (in one namespace or several), or a new config's first value, or a
    schema's next version with the new values of every config it would otherwise reject.
    Approvals are for the exact set (`proposal_hash`), and publishing writes every change or
    none."""

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
        """Its config changes, ordered by namespace and key (from a prefetch when there is
        one). A schema change's thousands of migrated values are read as rows instead (see
        reviews/kinds/schema.py): this is for the sets people make by hand."""
        if (
            hasattr(self, "_prefetched_objects_cache")
            and "changes" in self._prefetched_objects_cache
        ):
            return [c for c in self.changes.all() if c.kind != Change.Kind.SCHEMA]
        return list(
            self.changes.exclude(kind=Change.Kind.SCHEMA).select_related(
                "config__namespace", "config__schema", "base_version", "published_version"
            )
        )

    @cached_property
    def schema_change(self) -> Change | None:
        """Its schema's change, when it changes a schema (at most one)."""
        if (
            hasattr(self, "_prefetched_objects_cache")
            and "changes" in self._prefetched_objects_cache
        ):
            return next((c for c in self.changes.all() if c.kind == Change.Kind.SCHEMA), None)
        return (
            self.changes.filter(kind=Change.Kind.SCHEMA)
            .select_related("schema", "schema_base_version", "published_schema_version")
            .first()
        )

    @property
    def change(self) -> Change:
        """Its first change: the only one of the common one-config change request."""
        return self.change_list[0]

    @property
    def is_single(self) -> bool:
        """One config change and nothing else: the common case, with its shortcut answers."""
        return self.schema_change is None and len(self.change_list) == 1

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

    def touched_configs(self) -> models.QuerySet[Config]:
        """The configs it changes; for a schema change that changes no value, every config
        using its schema (their reviewers review it); for one of a schema nobody uses, none."""
        config_changes = Change.objects.filter(change_request_id=self.pk, config__isnull=False)
        schema_change = self.schema_change
        return Config.objects.filter(
            Q(pk__in=config_changes.values("config_id"))
            | Q(
                ~Exists(config_changes),
                schema_id=schema_change.schema_id if schema_change else None,
            )
        )

    @cached_property
    def namespaces(self) -> list[Namespace]:
        """The namespaces it touches, by slug."""
        return list(
            Namespace.objects.filter(pk__in=self.touched_configs().values("namespace_id")).order_by(
                "slug"
            )
        )

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self.forget_changes()

    def forget_changes(self) -> None:
        """Read the changes again on next use (after a service rewrote them)."""
        self.__dict__.pop("change_list", None)
        self.__dict__.pop("schema_change", None)
        self.__dict__.pop("namespaces", None)
        self.__dict__.pop("_touched", None)
        if hasattr(self, "_prefetched_objects_cache"):
            self._prefetched_objects_cache.pop("changes", None)


class Change(models.Model):
    """One change of a change request: a config's proposed value, based on its newest version
    when it was proposed (none for a new config's first value); or a schema's proposed next
    version (`schema`, `body`, based on `schema_base_version`), whose set then also holds the
    new value of every config the new schema would otherwise reject."""

    class Kind(models.TextChoices):
        CONFIG = "config", "Config change"
        NEW_CONFIG = "new_config", "New config"
        SCHEMA = "schema", "Schema change"

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONFIG)
    # Typed as always set: a config's change always has its config, a schema's change its
    # schema and base (the constraint `change_is_of_a_config_or_a_schema` holds it), and code
    # reads each only on its own kind.
    config: models.ForeignKey[Config, Config] = models.ForeignKey(
        Config, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    # The environment whose line of versions a config change continues; empty for a schema's
    # change and for a new config, whose first value is published in every environment.
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    base_version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    value = models.JSONField(null=True, blank=True)
    overrides = models.JSONField(default=list, db_default=[], blank=True)
    published_version = models.OneToOneField(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="change"
    )
    migrated = models.BooleanField(
        default=False,
        help_text="A schema change's value filled in from the schema's defaults, not by a person.",
    )
    problems = models.JSONField(
        default=list,
        blank=True,
        help_text="What the proposed schema rejects in this value, [{path, message}]: only a "
        "draft holds values with problems, and it cannot be submitted until none is left.",
    )
    # A schema change's own fields.
    schema: models.ForeignKey[Schema, Schema] = models.ForeignKey(
        Schema, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    schema_base_version: models.ForeignKey[SchemaVersion, SchemaVersion] = models.ForeignKey(
        SchemaVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = OrderedJSONField(null=True, blank=True, help_text="The proposed schema.")
    published_schema_version = models.OneToOneField(
        SchemaVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="change"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = [
            "change_request_id",
            "config__namespace__slug",
            "config__key",
            "environment__position",
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "config", "environment"],
                name="one_change_per_config_environment",
            ),
            models.UniqueConstraint(
                fields=["change_request"],
                condition=Q(kind="schema"),
                name="one_schema_change_per_request",
            ),
            models.CheckConstraint(
                condition=(Q(kind="schema") & Q(schema__isnull=False, config__isnull=True))
                | (~Q(kind="schema") & Q(schema__isnull=True, config__isnull=False)),
                name="change_is_of_a_config_or_a_schema",
            ),
        ]
        indexes = [models.Index(fields=["config", "change_request"], name="change_config_cr_idx")]

    def __str__(self) -> str:
        return f"{self.label} in #{self.change_request_id}"

    @property
    def label(self) -> str:
        """How errors and events name the change: "namespace/key" ("namespace/key@environment"
        outside the default environment), or "schema:<name>"."""
        if self.kind == self.Kind.SCHEMA:
            return f"schema:{self.schema.name}"
        return environments.labelled(str(self.config), self.environment_id)

    @property
    def base_version_number(self) -> int | None:
        return self.base_version.number if self.base_version_id else None

    @property
    def env(self) -> environments.Env | None:
        """The environment of a config change; None for a schema's change or a new config's
        (every environment), which continue no line of their own."""
        if self.environment_id is None:
            return None
        return environments.by_id(self.environment_id)

    @property
    def line(self) -> tuple[int, int]:
        """(config id, environment id): the line of versions a config change continues (a new
        config's: the default environment's, as every other environment's starts with it)."""
        return (self.config_id, environments.id_of(self.env))


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


__all__ = [
    "Change",
    "ChangeRequest",
    "ChangeRequestNumber",
    "Comment",
    "Review",
    "changes_hash",
]
