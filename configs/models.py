"""Namespaces, people's roles in them, schemas, configs and their immutable versions."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from configs.validation import InvalidSchema, check_schema

key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,99}$",
    "Use lowercase letters, digits, '-' and '_', starting with a letter or digit.",
)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


# Each role can do everything the roles below it can.
ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.REVIEWER: 3, Role.ADMIN: 4}


class Namespace(models.Model):
    slug = models.CharField(max_length=100, unique=True, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required_approvals = models.PositiveSmallIntegerField(
        default=1, help_text="Approvals a change needs before it can be published (0 = none)."
    )
    owner_approval_required = models.BooleanField(
        default=False, help_text="One of the config's owners must approve."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "user"], name="one_role_per_namespace")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.namespace}"


class Environment(models.Model):
    """Where values are used (development, staging, production…): one ordered list for the whole
    installation. Each config has its own line of versions in each; promotion goes from one
    environment to a later one; the last is the default (configs/environments.py)."""

    name = models.CharField(max_length=100, unique=True, validators=[key_validator])
    title = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Promotion order: earlier environments first; the last is the default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.title or self.name.capitalize()


def default_environment_id() -> int:
    """The default environment's id: what versions, tokens and changes made without naming one
    belong to."""
    from configs import environments

    return environments.default().id


class ReviewPolicy(models.Model):
    """A namespace's review policy in one environment, or one config's there (`config` set).
    Each field left empty falls back: the config's in that environment, the namespace's in that
    environment, the config's own setting, the namespace's (configs/policies.py)."""

    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="policies")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="policies")
    config = models.ForeignKey(
        "Config", on_delete=models.CASCADE, null=True, blank=True, related_name="policies"
    )
    required_approvals = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Approvals a change needs here (0 = publish directly)."
    )
    owner_approval_required = models.BooleanField(
        null=True, blank=True, help_text="One of the config's owners must approve here."
    )
    bypass_allowed = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether those with the right may publish without the approvals here.",
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "environment"],
                condition=models.Q(config__isnull=True),
                name="one_policy_per_namespace_environment",
            ),
            models.UniqueConstraint(
                fields=["config", "environment"],
                condition=models.Q(config__isnull=False),
                name="one_policy_per_config_environment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.config or self.namespace} in {self.environment}"


class OrderedJSONField(models.JSONField):
    """A JSONField kept as JSON text on every database, so objects keep their keys in the order
    they were written.

    PostgreSQL's jsonb reorders an object's keys (shortest first), and a schema's properties are
    in the order its author wants the form to show them. SQLite already stores JSON as text.
    Nothing looks inside these values in SQL; they are only ever read whole."""

    def db_type(self, connection) -> str:
        return "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if hasattr(value, "as_sql"):
            return value
        # What Django writes to SQLite; PostgreSQL's own adapter would send jsonb.
        return json.dumps(value, cls=self.encoder)


class Schema(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[key_validator])
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    body = OrderedJSONField(help_text="A JSON Schema (Draft 2020-12).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        try:
            check_schema(self.body)
        except InvalidSchema as exc:
            raise ValidationError({"body": exc.message}) from exc

    def save(self, *args, **kwargs):
        check_schema(self.body)  # no broken schema reaches the database, whatever the caller
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("configs:schema", args=[self.name])


class SchemaVersion(models.Model):
    """One immutable, numbered version of a schema, with who made it, when and why.

    `Schema.body` is a copy of the newest version's body, kept because every validation
    reads it; it only ever changes together with a new version (services.schema_update)."""

    schema = models.ForeignKey(Schema, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    body = OrderedJSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (the demo, or versions from before schemas had them).",
    )
    reason = models.TextField(blank=True, help_text="Why the schema was changed.")

    class Meta:
        ordering = ["schema", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["schema", "number"], name="schema_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schema} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Schema versions are immutable; make a new version instead.")
        check_schema(self.body)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Schema versions are kept forever.")

    def get_absolute_url(self) -> str:
        return reverse("configs:schema_history", args=[self.schema.name]) + f"#v{self.number}"


class Config(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, related_name="configs")
    key = models.CharField(max_length=100, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_configs"
    )
    schema = models.ForeignKey(
        Schema, on_delete=models.PROTECT, null=True, blank=True, related_name="configs"
    )
    # Per-config overrides of the namespace's review policy (empty = use the namespace's).
    required_approvals = models.PositiveSmallIntegerField(null=True, blank=True)
    owner_approval_required = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["namespace__slug", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "key"], name="config_key_unique_in_namespace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace.slug}/{self.key}"

    def get_absolute_url(self) -> str:
        return reverse("configs:detail", args=[self.namespace.slug, self.key])

    @property
    def effective_required_approvals(self) -> int:
        if self.required_approvals is not None:
            return self.required_approvals
        return self.namespace.required_approvals

    @property
    def effective_owner_approval_required(self) -> bool:
        if self.owner_approval_required is not None:
            return self.owner_approval_required
        return self.namespace.owner_approval_required

    @property
    def needs_review(self) -> bool:
        """Whether a change must be approved before it is published (bypass aside)."""
        return self.effective_required_approvals > 0 or self.effective_owner_approval_required


# The two properties above as SQL, for rules over the thousands of configs a schema change may
# touch at once (the same rule: the config's own setting, else its namespace's).
def effective_required_approvals() -> Coalesce:
    return Coalesce("required_approvals", "namespace__required_approvals")


def effective_owner_approval_required() -> Coalesce:
    return Coalesce("owner_approval_required", "namespace__owner_approval_required")


def canonical_json(value) -> str:
    """The one serialization of a value: stable key order (jsonb reorders keys), compact."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_text(body) -> str:
    """A schema body compact, in its author's key order: for schemas that order is part of what
    they say (the form shows fields in it), so two bodies differing only in order differ."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class VersionQuerySet(models.QuerySet):
    def active(self):
        """Versions that were not cancelled before taking effect."""
        return self.filter(cancelled_at__isnull=True)

    def live_at(self, instant):
        return self.active().filter(effective_at__lte=instant).order_by("-number")


class Version(models.Model):
    """One published value of a config. Never edited; only a scheduled one can be cancelled."""

    config = models.ForeignKey(Config, on_delete=models.PROTECT, related_name="versions")
    # Each config has its own line of versions, numbered from 1, in each environment.
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, default=default_environment_id, related_name="+"
    )
    number = models.PositiveIntegerField()
    value = models.JSONField()
    value_json = models.TextField(editable=False, help_text="The value, serialized once.")
    # Ordered rules serving other values to the contexts they match (evaluated by
    # config_console_client.evaluation); [] when none.
    # Rows written without it (COPY, a bulk load) have none: the database default.
    overrides = models.JSONField(default=list, db_default=[], blank=True)
    effective_at = models.DateTimeField(help_text="When this version becomes the live value.")
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="published_versions"
    )
    reason = models.TextField(blank=True, help_text="Why this change was made.")
    bypass_reason = models.TextField(
        blank=True, help_text="Set when published without the required approvals."
    )
    # Kept with the version, so that what it was checked against never changes with the config.
    schema = models.ForeignKey(
        Schema,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The schema the value was checked against when it was published.",
    )
    schema_version = models.ForeignKey(
        SchemaVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The version of the schema the value was checked against.",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancelled_versions",
    )

    objects = VersionQuerySet.as_manager()

    class Meta:
        # By the config's id, not "config": that would sort through the config's own ordering
        # (namespace slug, key), a join that keeps the (config, number) index from being used.
        ordering = ["config_id", "environment_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "environment", "number"], name="version_number_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["config", "environment", "effective_at"], name="version_effective_idx"
            ),
            # The versions that count (not cancelled), by number: counts and lists of a config's
            # versions read this index alone, and the live version is its first entry in effect.
            # (effective_at and id are carried in the index, so finding the live versions of a
            # namespace of thousands of configs never reads the versions themselves.)
            models.Index(
                fields=["config", "environment", "number"],
                include=["effective_at", "id"],
                condition=models.Q(cancelled_at__isnull=True),
                name="version_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.config} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is None:
            self.value_json = canonical_json(self.value)
            if self.schema_version_id is not None:
                # Set by a caller that checked against a version it names (a schema change).
                if self.schema_id is None:
                    self.schema_id = SchemaVersion.objects.values_list("schema_id", flat=True).get(
                        pk=self.schema_version_id
                    )
            else:
                self.schema_id = self.config.schema_id
                if self.schema_id is not None:
                    self.schema_version_id = (
                        SchemaVersion.objects.filter(schema_id=self.schema_id)
                        .order_by("-number")
                        .values_list("pk", flat=True)
                        .first()
                    )
        elif set(kwargs.get("update_fields") or ()) != {"cancelled_at", "cancelled_by"}:
            raise ValueError("Versions are immutable; publish a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Versions are kept forever.")

    @property
    def is_bypass(self) -> bool:
        return bool(self.bypass_reason)


class ApiToken(models.Model):
    """A machine's key to the API, acting as its user within the namespaces it is scoped to.

    Only a hash of the secret is stored; the secret is shown once, when the token is made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for.")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    namespaces = models.ManyToManyField(Namespace, related_name="api_tokens")
    can_write = models.BooleanField(
        default=False, help_text="Write tokens may propose, review and publish as their user."
    )
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="The environment it reads (and may only read); empty: the default one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope(self) -> str:
        return "write" if self.can_write else "read"


class Consumer(models.Model):
    """A token that reads a config: the version it read last, and when.

    Written off the read path, in batches, at most about once a minute per token and config
    (configs/consumers.py), so `last_read_at` may lag the true last read by that much."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="consumed")
    config = models.ForeignKey(Config, on_delete=models.CASCADE, related_name="consumers")
    last_version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "config"], name="one_consumer_per_token")
        ]
        indexes = [models.Index(fields=["config", "-last_read_at"], name="consumer_newest_idx")]

    def __str__(self) -> str:
        return f"{self.token} reads {self.config}"
