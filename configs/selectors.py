"""Reads for the console: what a person may see, with a fixed number of queries per page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from configs import access
from configs.models import ApiToken, Config, Role, Schema, Version
from configs.validation import validate_value


def _live(now: datetime) -> QuerySet:
    return Version.objects.filter(config=OuterRef("pk")).live_at(now)


def config_list(*, user, query: str = "", namespace: str = "", owner: str = "") -> QuerySet:
    """Configs in the namespaces `user` may see, each with its live version's number and author."""
    now = timezone.now()
    live = _live(now)
    configs = (
        Config.objects.filter(namespace_id__in=access.visible_namespace_ids(user))
        .select_related("namespace", "schema")
        .prefetch_related("owners")
        .annotate(
            live_number=Subquery(live.values("number")[:1]),
            live_published_at=Subquery(live.values("published_at")[:1]),
            live_published_by=Subquery(live.values("published_by__username")[:1]),
        )
        .order_by("namespace__slug", "key")
    )
    if query:
        configs = configs.filter(
            Q(key__icontains=query) | Q(name__icontains=query) | Q(description__icontains=query)
        )
    if namespace:
        configs = configs.filter(namespace__slug=namespace)
    if owner:
        configs = configs.filter(owners__username=owner)
    return configs


def config_for(*, user, namespace: str, key: str) -> Config:
    """The config, or 404 when it does not exist or `user` has no role in its namespace."""
    try:
        config = Config.objects.select_related("namespace", "schema").get(
            namespace__slug=namespace, key=key
        )
    except Config.DoesNotExist:
        raise Http404("No such config.") from None
    access.ensure_visible(user, config.namespace)
    return config


def live_version(config: Config, at: datetime | None = None) -> Version | None:
    return config.versions.live_at(at or timezone.now()).select_related("published_by").first()


def scheduled_versions(config: Config) -> list[Version]:
    """Versions published to take effect later, soonest first."""
    return list(
        config.versions.active()
        .filter(effective_at__gt=timezone.now())
        .select_related("published_by")
        .order_by("number")
    )


def recent_versions(config: Config, limit: int = 10) -> list[Version]:
    return list(config.versions.select_related("published_by", "cancelled_by")[:limit])


def schemas_with_usage() -> QuerySet:
    return Schema.objects.prefetch_related("configs__namespace")


def live_version_ids(*, namespace: str, at: datetime | None = None) -> list[tuple[str, int]]:
    """[(config key, id of its live version)] for the namespace's configs that have one, by key,
    in one query."""
    live = _live(at or timezone.now())
    return list(
        Config.objects.filter(namespace__slug=namespace)
        .annotate(live_id=Subquery(live.values("id")[:1]))
        .filter(live_id__isnull=False)
        .order_by("key")
        .values_list("key", "live_id")
    )


def tokens_visible_to(user) -> QuerySet:
    """The person's own API tokens and, for admins, every token reaching a namespace they run
    (the ones `services.can_revoke_token` lets them revoke)."""
    administered = [pk for pk, role in access.roles_of(user).items() if role == Role.ADMIN]
    return (
        ApiToken.objects.filter(Q(user=user) | Q(namespaces__in=administered))
        .distinct()
        .select_related("user")
        .prefetch_related("namespaces")
        .order_by("-created_at", "-id")
    )


def value_errors(*, config: Config, value) -> list[dict[str, str]]:
    """Problems with `value` as the next value of `config` (empty when it is valid)."""
    return validate_value(value, config.schema.body if config.schema_id else None)


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


def newest_version(config: Config) -> Version | None:
    """The newest version that was not cancelled, live or scheduled: what changes build on."""
    return config.versions.active().order_by("-number").first()
