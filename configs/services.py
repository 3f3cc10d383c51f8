"""Changes to namespaces, schemas, configs and versions.

Each change is one function: one transaction, audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from configs import access
from configs.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from configs.models import ApiToken, Config, Membership, Namespace, Role, Schema, Version
from configs.validation import validate_value


def _with_history_user(instance, actor, reason: str = ""):
    # django-simple-history reads these when the instance is saved.
    instance._history_user = actor if getattr(actor, "pk", None) else None
    instance._change_reason = reason[:1000] if reason else None
    return instance


def value_errors(*, config: Config, value) -> list[dict[str, str]]:
    """Problems with `value` as the next value of `config` (empty when it is valid)."""
    return validate_value(value, config.schema.body if config.schema_id else None)


@transaction.atomic
def namespace_create(
    *,
    slug: str,
    name: str,
    actor=None,
    required_approvals: int = 1,
    owner_approval_required: bool = False,
    description: str = "",
) -> Namespace:
    namespace = _with_history_user(
        Namespace(
            slug=slug,
            name=name,
            description=description,
            required_approvals=required_approvals,
            owner_approval_required=owner_approval_required,
        ),
        actor,
    )
    namespace.full_clean()
    namespace.save()
    record(
        "namespace.created",
        actor=actor,
        target=namespace,
        namespace=slug,
        details={
            "required_approvals": required_approvals,
            "owner_approval_required": owner_approval_required,
        },
    )
    return namespace


NAMESPACE_SETTINGS = ("name", "description", "required_approvals", "owner_approval_required")


def _unknown(changes: dict, allowed: tuple[str, ...], service: str) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"{service}() cannot change {', '.join(unknown)}.")


@transaction.atomic
def namespace_update(*, namespace: Namespace, actor, reason: str = "", **changes) -> Namespace:
    """Change a namespace's name, description or review policy (admins only); one event."""
    _unknown(changes, NAMESPACE_SETTINGS, "namespace_update")
    access.ensure_role(actor, namespace, Role.ADMIN, "change the namespace's settings")
    namespace = Namespace.objects.select_for_update().get(pk=namespace.pk)
    before = {field: getattr(namespace, field) for field in changes}
    for field, value in changes.items():
        setattr(namespace, field, value)
    namespace.full_clean()  # also turns form input such as "2" into the field's type
    diff = {
        field: {"before": before[field], "after": getattr(namespace, field)}
        for field in changes
        if getattr(namespace, field) != before[field]
    }
    if not diff:
        return namespace
    _with_history_user(namespace, actor, reason)
    namespace.save()
    record(
        "namespace.policy_changed",
        actor=actor,
        target=namespace,
        namespace=namespace.slug,
        reason=reason,
        details={"changes": diff},
    )
    return namespace


def _ensure_can_manage_members(actor, namespace: Namespace, role: str | None = None) -> None:
    # No actor is the system (seed_demo, migrations). A namespace nobody administers yet may be
    # given its first admin by whoever sets it up (namespace_create checks no role either).
    if actor is None:
        return
    nobody_administers = not Membership.objects.filter(
        namespace=namespace, role=Role.ADMIN
    ).exists()
    if role == Role.ADMIN and nobody_administers:
        return
    access.ensure_role(actor, namespace, Role.ADMIN, "change who is a member")


@transaction.atomic
def membership_set(*, namespace: Namespace, user, role: str, actor=None) -> Membership:
    """Give `user` exactly `role` in `namespace` (audited only when something changes)."""
    _ensure_can_manage_members(actor, namespace, role)
    membership = Membership.objects.filter(namespace=namespace, user=user).first()
    before = membership.role if membership else None
    if before == role:
        return membership
    membership = membership or Membership(namespace=namespace, user=user)
    _with_history_user(membership, actor)
    membership.role = role
    membership.save()
    record(
        "membership.changed",
        actor=actor,
        target=membership,
        namespace=namespace.slug,
        details={"user": user.username, "role": role, "previous_role": before},
    )
    access.forget_roles(user)
    return membership


@transaction.atomic
def membership_remove(*, namespace: Namespace, user, actor) -> None:
    """Take away `user`'s role in `namespace` (audited only when they had one)."""
    _ensure_can_manage_members(actor, namespace)
    membership = (
        Membership.objects.select_for_update().filter(namespace=namespace, user=user).first()
    )
    if membership is None:
        return
    # Recorded before the delete, which clears the primary key the event points at.
    record(
        "membership.changed",
        actor=actor,
        target=membership,
        namespace=namespace.slug,
        details={"user": user.username, "role": None, "previous_role": membership.role},
    )
    _with_history_user(membership, actor)
    membership.delete()
    access.forget_roles(user)


@transaction.atomic
def schema_create(
    *, name: str, body: dict, actor=None, title: str = "", description: str = ""
) -> Schema:
    """A new schema (admins of any namespace; `actor` None is the system, e.g. the demo)."""
    if actor is not None and not access.is_admin_somewhere(actor):
        raise PermissionDenied("Only namespace admins can add schemas.")
    schema = _with_history_user(
        Schema(
            name=name,
            body=body,
            title=title or body.get("title", ""),
            description=description or body.get("description", ""),
        ),
        actor,
    )
    schema.full_clean()
    schema.save()
    record("schema.created", actor=actor, target=schema)
    return schema


def schema_breakage(*, schema: Schema, body: dict) -> dict[str, list[dict[str, str]]]:
    """{config version: errors} for each live or scheduled value of `schema`'s configs that `body`
    would reject."""
    problems = {}
    for config in schema.configs.select_related("namespace"):
        problems.update(_values_in_force_errors(config=config, body=body))
    return problems


def _values_in_force_errors(*, config: Config, body: dict | None) -> dict[str, list[dict]]:
    """{config version: errors} for the live and each scheduled value `body` would reject."""
    problems = {}
    now = timezone.now()
    live = config.versions.live_at(now).first()
    pending = list(config.versions.active().filter(effective_at__gt=now))
    for version in ([live] if live else []) + pending:
        errors = validate_value(version.value, body)
        if errors:
            problems[f"{config} v{version.number}"] = errors
    return problems


@transaction.atomic
def schema_update(
    *,
    schema: Schema,
    body: dict,
    actor,
    reason: str = "",
    title: str | None = None,
    description: str | None = None,
) -> Schema:
    """Change a schema, refusing any change that would make a live (or scheduled) value invalid."""
    access.ensure_can_edit_schema(actor, schema)
    schema = Schema.objects.select_for_update().get(pk=schema.pk)
    problems = schema_breakage(schema=schema, body=body)
    if problems:
        raise SchemaInUse(problems)
    before = schema.body
    schema.body = body
    if title is not None:
        schema.title = title
    if description is not None:
        schema.description = description
    _with_history_user(schema, actor, reason)
    schema.full_clean()
    schema.save()
    record(
        "schema.changed",
        actor=actor,
        target=schema,
        reason=reason,
        details={"before": before, "after": body},
    )
    return schema


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


def newest_version(config: Config) -> Version | None:
    """The newest version that was not cancelled, live or scheduled: what changes build on."""
    return config.versions.active().order_by("-number").first()


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
    locked = (
        Config.objects.select_for_update(of=("self",)).select_related("schema").get(pk=config.pk)
    )
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
            f"Version {newest.number} takes effect at {newest.effective_at:%Y-%m-%d %H:%M %Z}; "
            "a newer version cannot take effect before it. Cancel the scheduled version first, "
            "or schedule this one at or after that time."
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
    if newest.pk != version.pk:
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


TOKEN_PREFIX = "cc_"


def token_hash(secret: str) -> str:
    # The secret is 240 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    user,
    name: str,
    namespaces: list[Namespace],
    write: bool = False,
    expires_at: datetime | None = None,
    actor=None,
) -> tuple[ApiToken, str]:
    """A new token for `user` in `namespaces`; returns it with its secret, shown only this once."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("A token needs a name saying what it is for.")
    if not namespaces:
        raise ValidationError("Choose at least one namespace for the token.")
    for namespace in namespaces:
        if access.role_in(user, namespace) is None:
            raise PermissionDenied(f"{user.username} has no role in {namespace.slug}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:10],
        key_hash=token_hash(secret),
        can_write=write,
        expires_at=expires_at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    token.namespaces.set(namespaces)
    slugs = sorted(namespace.slug for namespace in namespaces)
    record(
        "token.created",
        actor=actor,
        target=token,
        # One event per token: the namespace column holds it when the token has only one.
        namespace=slugs[0] if len(slugs) == 1 else "",
        details={
            "user": user.username,
            "namespaces": slugs,
            "scope": token.scope,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


def can_revoke_token(actor, token: ApiToken) -> bool:
    """The token's owner, or an admin of one of its namespaces."""
    if actor.pk == token.user_id or actor.is_superuser:
        return True
    return any(access.has_role(actor, ns, Role.ADMIN) for ns in token.namespaces.all())


@transaction.atomic
def token_revoke(*, token: ApiToken, actor, reason: str = "") -> ApiToken:
    """Stop `token` working at once; revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not can_revoke_token(actor, token):
        raise PermissionDenied("Only the token's owner or a namespace admin can revoke it.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    slugs = sorted(token.namespaces.values_list("slug", flat=True))
    record(
        "token.revoked",
        actor=actor,
        target=token,
        namespace=slugs[0] if len(slugs) == 1 else "",
        reason=reason,
        details={"user": token.user.username, "namespaces": slugs},
    )
    return token
