"""Changes to configs and their versions. Each change is one function: one transaction, audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from audit.services import record
from common.bulk import insert_all
from common.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from configs import access, environments, times
from configs.environments import Env
from configs.models import Config, Namespace, Role, Schema, SchemaVersion, Version, canonical_json
from configs.selectors import _values_in_force_errors, newest_version, value_errors
from configs.services._common import _changed, _unknown, _with_history_user
from configs.signals import versions_published
from configs.validation import overrides_errors, validate_value, validator_for


@transaction.atomic
def config_create(
    *,
    namespace: Namespace,
    key: str,
    name: str,
    value,
    actor,
    description: str = "",
    schema: Schema | None = None,
    owners=(),
    reason: str = "Created",
    overrides: list | None = None,
) -> Config:
    """A new config with its first value (and `overrides`) published as version 1 in every
    environment (unreviewed: admins only)."""
    access.ensure_role(actor, namespace, Role.ADMIN, "create configs")
    config = _with_history_user(
        Config(namespace=namespace, key=key, name=name, description=description, schema=schema),
        actor,
    )
    config.full_clean()
    errors = value_errors(config=config, value=value, overrides=overrides)
    if errors:
        raise InvalidValue(errors)
    config.save()
    config.owners.set(owners)
    record(
        "config.created",
        actor=actor,
        target=config,
        namespace=namespace.slug,
        config=key,
        details={"schema": schema.name if schema else None},
    )
    now = timezone.now()
    for env in environments.every():
        Version.objects.create(
            config=config,
            environment_id=env.id,
            number=1,
            value=value,
            overrides=overrides or [],
            effective_at=now,
            published_at=now,
            published_by=actor,
            reason=reason,
        )
    return config


@transaction.atomic
def config_add(
    *,
    namespace: Namespace,
    key: str,
    name: str,
    actor,
    description: str = "",
    schema: Schema | None = None,
    owners=None,
) -> Config:
    """A new config without a version yet (editors and up); its version 1 is a change like any
    other, proposed by the caller (reviews.new_configs.config_propose) in the same transaction.

    Owners default to the creator. A key already taken in the namespace is a Conflict."""
    access.ensure_role(actor, namespace, Role.EDITOR, "create configs")
    if Config.objects.filter(namespace=namespace, key=key).exists():
        raise Conflict(f"{namespace.slug}/{key} already exists; choose another key.")
    config = _with_history_user(
        Config(namespace=namespace, key=key, name=name, description=description, schema=schema),
        actor,
    )
    config.full_clean()
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError as exc:  # created by someone else at the same moment
        raise Conflict(f"{namespace.slug}/{key} already exists; choose another key.") from exc
    owners = [actor] if owners is None else list(owners)
    config.owners.set(owners)
    record(
        "config.created",
        actor=actor,
        target=config,
        namespace=namespace.slug,
        config=key,
        details={
            "schema": schema.name if schema else None,
            "owners": sorted(u.username for u in owners),
        },
    )
    return config


CONFIG_DETAILS = (
    "name",
    "description",
    "schema",
    "owners",
    "required_approvals",
    "owner_approval_required",
)


def _detail(field: str, value):
    # Stored as data a person can read: the schema by name, owners by username.
    if field == "schema":
        return value.name if value else None
    if field == "owners":
        return sorted(user.username for user in value)
    return value


@transaction.atomic
def config_update(*, config: Config, actor, reason: str = "", **changes) -> Config:
    """Change a config's details or review policy (admins only); one event.

    A new schema is refused if the live value or a scheduled one would not satisfy it."""
    _unknown(changes, CONFIG_DETAILS, "config_update")
    config = (
        Config.objects.select_for_update(of=("self",))
        .select_related("namespace", "schema")
        .get(pk=config.pk)
    )
    access.ensure_role(actor, config.namespace, Role.ADMIN, "change the config's details")
    owners = changes.pop("owners", None)
    diff = _changed(config, changes, _detail)
    if owners is not None:
        owners = set(owners)
        current = set(config.owners.all())
        if owners != current:
            diff["owners"] = {
                "before": _detail("owners", current),
                "after": _detail("owners", owners),
            }
    if not diff:
        return config
    if "schema" in diff:
        problems = _values_in_force_errors(
            config=config, body=config.schema.body if config.schema else None
        )
        if problems:
            raise SchemaInUse(problems)
    if diff.keys() - {"owners"}:
        _with_history_user(config, actor, reason)
        config.save()
    if "owners" in diff:
        config.owners.set(owners)
    record(
        "config.changed",
        actor=actor,
        target=config,
        namespace=config.namespace.slug,
        config=config.key,
        reason=reason,
        details={"changes": diff},
    )
    return config


def _ensure_base(config: Config | str, newest_number: int | None, base_number: int | None):
    """A change is published only on the version it was based on."""
    if newest_number != base_number:
        raise Conflict(
            f"{config} is now at version {newest_number}; this change was based on "
            f"version {base_number}."
        )


def _effective_time(effective_at: datetime | None, now: datetime) -> datetime:
    """When a version published `now` takes effect: now, or a later time asked for."""
    effective_at = effective_at or now
    if effective_at < now - timedelta(seconds=5):
        raise RuleViolation("The effective time is in the past; choose now or a later time.")
    return effective_at


def _before_predecessor(
    newest_number: int | None, newest_effective_at: datetime | None, effective_at: datetime
) -> str:
    """Why `effective_at` cannot follow the newest version, or '': effective times never go
    back."""
    if newest_number is None or newest_effective_at is None:
        return ""
    if effective_at >= newest_effective_at:
        return ""
    return (
        f"Version {newest_number} is scheduled for {times.in_words(newest_effective_at)}; "
        "a newer version cannot take effect before it. Choose that time or later, or cancel "
        "the scheduled version first."
    )


def version_publish(
    *,
    config: Config,
    value,
    base_number: int | None,
    actor,
    reason: str = "",
    effective_at: datetime | None = None,
    bypass_reason: str = "",
    overrides: list | None = None,
    environment: Env | None = None,
) -> Version:
    """Publish `value` with `overrides` (None: the newest version's) as the next version of
    `config` in `environment` (default: the default one), if `base_number` is still the newest
    there.

    Must run inside the caller's transaction (the review gate's publish): it locks the config
    row so that two publishes racing on two servers see each other, and refuses effective times
    that would go back before the predecessor's.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("version_publish must run inside a transaction.")
    locked = Config.objects.select_for_update(of=("self",)).get(pk=config.pk)
    if locked.schema_id is not None:
        # Read after the lock, in its own statement: a schema change published while this
        # publish waited for the config is seen, so the value is checked against the new body.
        locked.schema = Schema.objects.get(pk=locked.schema_id)
    newest = newest_version(locked, environment)
    label = environments.labelled(str(config), environments.id_of(environment))
    _ensure_base(label, newest.number if newest else None, base_number)
    now = timezone.now()
    effective_at = _effective_time(effective_at, now)
    too_early = newest and _before_predecessor(newest.number, newest.effective_at, effective_at)
    if too_early:
        raise RuleViolation(too_early)
    if overrides is None:
        overrides = newest.overrides if newest else []
    errors = value_errors(config=locked, value=value, overrides=overrides)
    if errors:
        raise InvalidValue(errors)
    last_number = (
        locked.versions.filter(environment_id=environments.id_of(environment))
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    )
    try:
        with transaction.atomic():
            return Version.objects.create(
                config=locked,
                environment_id=environments.id_of(environment),
                number=last_number + 1,
                value=value,
                overrides=overrides,
                effective_at=effective_at,
                published_at=now,
                published_by=actor,
                reason=reason,
                bypass_reason=bypass_reason,
            )
    except IntegrityError as exc:  # a racing publish took the number (backstop to the row lock)
        raise Conflict(f"{label} was changed by someone else at the same moment.") from exc


@dataclass(frozen=True)
class NewVersion:
    """One config's next value in one environment (None: the default one) in
    `versions_publish`, and the version it was based on; its overrides, or None to keep the
    newest version's (a schema change migrating values)."""

    config_id: int
    value: Any
    base_number: int | None
    overrides: list | None = None
    environment_id: int | None = None

    @property
    def line(self) -> tuple[int, int]:
        """The line of versions it continues: (config id, environment id)."""
        if self.environment_id is None:
            return (self.config_id, environments.default().id)
        return (self.config_id, self.environment_id)


def _decoded(overrides: Any) -> list:
    # A JSON column read through a subquery comes back as text on some databases.
    if isinstance(overrides, str):
        return json.loads(overrides)
    return overrides or []


# How many configs a refusal of many names before counting the rest.
NAMED_AT_MOST = 10


def _named(problems: list[str]) -> str:
    more = len(problems) - NAMED_AT_MOST
    return "; ".join(problems[:NAMED_AT_MOST]) + (f"; and {more} more" if more > 0 else "")


def versions_publish(
    *,
    changes: Sequence[NewVersion],
    actor,
    reason: str = "",
    effective_at: datetime | None = None,
    bypass_reason: str = "",
) -> dict[tuple[int, int], Version]:
    """Publish each change as the next version of its config in its environment, all at
    `effective_at` (default now), with `version_publish`'s rules for each: every base must
    still be the newest version (else Conflict, and nothing is published), no effective time
    goes back before its predecessor's, and every value fits its config's schema, size limit
    and credentials check. Returns the new versions by line, (config id, environment id);
    `bypass_reason` marks each as published without its approvals.

    For the thousands of configs a schema change migrates at once, in a number of queries that
    does not grow with them: one to lock the configs, one for their newest versions, one for
    their schemas, one validator per schema and each distinct value checked once, the versions
    inserted together, and their change-feed events and webhook deliveries written together
    (`configs.signals.versions_published`). Must run inside the caller's transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("versions_publish must run inside a transaction.")
    if not changes:
        return {}
    lines = [change.line for change in changes]
    if len(set(lines)) != len(lines):
        raise ValueError("versions_publish takes one change per config and environment.")
    ids = sorted({change.config_id for change in changes})
    # In id order, as a schema change publish locks them: two bulk publishes never deadlock.
    locked = {
        pk: (f"{namespace}/{key}", schema_id)
        for pk, namespace, key, schema_id in Config.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "namespace__slug", "key", "schema_id")
    }
    missing = set(ids) - set(locked)
    if missing:
        raise Config.DoesNotExist(f"No config with id {min(missing)}.")
    # Read after the lock, in their own statements (as version_publish does): versions and
    # schema versions committed by publishes this one waited for are seen. One query per
    # environment the changes are in.
    numbers = {}
    kept_overrides = {}
    for env_id in sorted({env_id for _, env_id in lines}):
        line = {"config": OuterRef("pk"), "environment_id": env_id}
        newest = Version.objects.active().filter(**line).order_by("-number")
        numbered = Version.objects.filter(**line).order_by("-number")
        bases = (
            Config.objects.filter(pk__in=[pk for pk, env in lines if env == env_id])
            .annotate(
                newest_number=Subquery(newest.values("number")[:1]),
                newest_effective_at=Subquery(newest.values("effective_at")[:1]),
                last_number=Subquery(numbered.values("number")[:1]),  # cancelled ones too
                newest_overrides=Subquery(newest.values("overrides")[:1]),
            )
            .values_list(
                "pk", "newest_number", "newest_effective_at", "last_number", "newest_overrides"
            )
        )
        for pk, number, at, last, newest_overrides in bases:
            numbers[pk, env_id] = (number, at, last or 0)
            kept_overrides[pk, env_id] = _decoded(newest_overrides)
    overrides = {
        change.line: change.overrides
        if change.overrides is not None
        else kept_overrides[change.line]
        for change in changes
    }
    labels = {
        change.line: environments.labelled(locked[change.config_id][0], change.line[1])
        for change in changes
    }
    schemas = {
        pk: (body, version_id)
        for pk, body, version_id in Schema.objects.filter(
            pk__in={schema_id for _, schema_id in locked.values() if schema_id is not None}
        )
        .annotate(
            newest_version_id=Subquery(
                SchemaVersion.objects.filter(schema=OuterRef("pk"))
                .order_by("-number")
                .values("pk")[:1]
            )
        )
        .values_list("pk", "body", "newest_version_id")
    }
    for change in changes:
        _ensure_base(labels[change.line], numbers[change.line][0], change.base_number)
    now = timezone.now()
    effective_at = _effective_time(effective_at, now)
    too_early = [
        f"{labels[change.line]}: {problem}"
        for change in changes
        if (problem := _before_predecessor(*numbers[change.line][:2], effective_at))
    ]
    if too_early:
        raise RuleViolation(_named(too_early))
    validators = {pk: validator_for(body) for pk, (body, _) in schemas.items()}
    verdicts: dict[tuple[int | None, str], list[dict[str, str]]] = {}
    texts = []
    errors = []
    for change in changes:
        label = labels[change.line]
        schema_id = locked[change.config_id][1]
        text = canonical_json(change.value)
        texts.append(text)
        if (schema_id, text) not in verdicts:
            body = schemas[schema_id][0] if schema_id is not None else None
            verdicts[schema_id, text] = validate_value(
                change.value, body, validators.get(schema_id)
            )
        errors += [{"config": label, **error} for error in verdicts[schema_id, text]]
        if overrides[change.line]:
            body = schemas[schema_id][0] if schema_id is not None else None
            problems = overrides_errors(overrides[change.line], body, validators.get(schema_id))
            errors += [{"config": label, **error} for error in problems]
    if errors:
        raise InvalidValue(errors)
    new_versions = []
    for change, text in zip(changes, texts, strict=True):
        schema_id = locked[change.config_id][1]
        # Written as Version.save writes a new version: serialized once, with the schema
        # version it was checked against.
        new_versions.append(
            Version(
                config_id=change.config_id,
                environment_id=change.line[1],
                number=numbers[change.line][2] + 1,
                value=change.value,
                value_json=text,
                overrides=overrides[change.line],
                effective_at=effective_at,
                published_at=now,
                published_by=actor,
                reason=reason,
                bypass_reason=bypass_reason,
                schema_id=schema_id,
                schema_version_id=schemas[schema_id][1] if schema_id is not None else None,
            )
        )
    try:
        with transaction.atomic():
            created = insert_all(new_versions)
    except IntegrityError as exc:  # a racing publish took a number (backstop to the row locks)
        raise Conflict("A config was changed by someone else at the same moment.") from exc
    # Bulk inserts send no post_save: the change feed and webhooks hear of them from here.
    versions_published.send(sender=Version, versions=created)
    return {change.line: version for change, version in zip(changes, created, strict=True)}


@transaction.atomic
def version_cancel(*, version: Version, actor, reason: str = "") -> Version:
    """Cancel a scheduled version before it takes effect (the newest one only)."""
    config = Config.objects.select_for_update().get(pk=version.config_id)
    access.ensure_role(actor, config.namespace, Role.REVIEWER, "cancel a scheduled version")
    version = Version.objects.get(pk=version.pk)
    if version.cancelled_at:
        raise RuleViolation(f"Version {version.number} was already cancelled.")
    if version.effective_at <= timezone.now():
        raise RuleViolation(
            f"Version {version.number} is already live; publish a new version instead."
        )
    newest = newest_version(config, environments.by_id(version.environment_id))
    if newest is not None and newest.pk != version.pk:
        raise RuleViolation(
            f"Cancel version {newest.number} first: it is scheduled after this one."
        )
    version.cancelled_at = timezone.now()
    version.cancelled_by = actor
    version.save(update_fields=["cancelled_at", "cancelled_by"])
    record(
        "version.cancelled",
        actor=actor,
        target=version,
        namespace=config.namespace.slug,
        config=config.key,
        reason=reason,
        details={
            # Version numbers are per environment: the event says whose.
            "environment": environments.by_id(version.environment_id).name,
            "version": version.number,
            "effective_at": version.effective_at.isoformat(),
        },
    )
    return version
