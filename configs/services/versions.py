"""Changes to configs and their versions. Each change is one function: one transaction, audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from configs import access, times
from configs.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from configs.models import Config, Namespace, Role, Schema, Version
from configs.selectors import _values_in_force_errors, newest_version, value_errors
from configs.services._common import _unknown, _with_history_user


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
) -> Config:
    """A new config with its first value published as version 1 (unreviewed: admins only)."""
    access.ensure_role(actor, namespace, Role.ADMIN, "create configs")
    config = _with_history_user(
        Config(namespace=namespace, key=key, name=name, description=description, schema=schema),
        actor,
    )
    config.full_clean()
    errors = value_errors(config=config, value=value)
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
    Version.objects.create(
        config=config,
        number=1,
        value=value,
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
    before = {field: getattr(config, field) for field in changes}
    for field, value in changes.items():
        setattr(config, field, value)
    config.full_clean()
    diff = {
        field: {"before": _detail(field, before[field]), "after": _detail(field, after)}
        for field in changes
        if (after := getattr(config, field)) != before[field]
    }
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


def version_publish(
    *,
    config: Config,
    value,
    base_number: int | None,
    actor,
    reason: str = "",
    effective_at: datetime | None = None,
    bypass_reason: str = "",
) -> Version:
    """Publish `value` as the next version of `config`, if `base_number` is still the newest.

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
    newest = newest_version(locked)
    newest_number = newest.number if newest else None
    if newest_number != base_number:
        raise Conflict(
            f"{config} is now at version {newest_number}; this change was based on "
            f"version {base_number}."
        )
    now = timezone.now()
    effective_at = effective_at or now
    if effective_at < now - timedelta(seconds=5):
        raise RuleViolation("The effective time is in the past; choose now or a later time.")
    if newest and effective_at < newest.effective_at:
        raise RuleViolation(
            f"Version {newest.number} is scheduled for {times.in_words(newest.effective_at)}; "
            "a newer version cannot take effect before it. Choose that time or later, or cancel "
            "the scheduled version first."
        )
    errors = value_errors(config=locked, value=value)
    if errors:
        raise InvalidValue(errors)
    last_number = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
    try:
        with transaction.atomic():
            return Version.objects.create(
                config=locked,
                number=last_number + 1,
                value=value,
                effective_at=effective_at,
                published_at=now,
                published_by=actor,
                reason=reason,
                bypass_reason=bypass_reason,
            )
    except IntegrityError as exc:  # a racing publish took the number (backstop to the row lock)
        raise Conflict(f"{config} was changed by someone else at the same moment.") from exc


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
    newest = newest_version(config)
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
        details={"version": version.number, "effective_at": version.effective_at.isoformat()},
    )
    return version
