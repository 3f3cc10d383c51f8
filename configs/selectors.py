"""Reads for the console: what a person may see, with a fixed number of queries per page."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat, Lower, Replace
from django.http import Http404
from django.utils import timezone

from configs import access, environments
from configs.environments import Env
from configs.models import (
    ApiToken,
    Config,
    Role,
    Schema,
    SchemaVersion,
    Version,
    VersionQuerySet,
)
from configs.validation import overrides_errors, validate_value, validator_for, value_problems


def _live(now: datetime, environment: Env | None = None) -> QuerySet:
    return Version.objects.filter(
        config=OuterRef("pk"), environment_id=environments.id_of(environment)
    ).live_at(now)


def versions_of(config: Config, environment: Env | None = None) -> VersionQuerySet:
    """`config`'s line of versions in `environment` (default: the default environment)."""
    return cast(
        VersionQuerySet, config.versions.filter(environment_id=environments.id_of(environment))
    )


def config_list(
    *,
    user,
    query: str = "",
    namespace: str = "",
    owner: str = "",
    environment: Env | None = None,
) -> QuerySet:
    """Configs in the namespaces `user` may see, each with its live version's number and author
    in `environment`."""
    now = timezone.now()
    live = _live(now, environment)
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
        configs = _matching(configs, query)
    if namespace:
        configs = configs.filter(namespace__slug=namespace)
    if owner:
        configs = configs.filter(owners__username=owner)
    return configs


# What a person types is compared with these words with case, spaces, hyphens and underscores
# left out on both sides, so "time zones", "Time-zone" and "timezone" find "Company timezones"
# (key company-timezones). The database does it (Lower/Replace), in the list's own query.
_SEARCHED = ("key", "name", "description", "schema__title", "schema__description")
_IGNORED = (" ", "-", "_", "\t", "\n", "\r")


def _compact(expression):
    expression = Lower(expression, output_field=TextField())
    for character in _IGNORED:
        expression = Replace(expression, Value(character), Value(""), output_field=TextField())
    return expression


def _compact_text(text: str) -> str:
    text = text.lower()
    for character in _IGNORED:
        text = text.replace(character, "")
    return text


def _matching(configs: QuerySet, query: str) -> QuerySet:
    """`configs` whose key, name, description or schema title or description hold `query` as
    typed, or every word of it (in any order), regardless of case and spaces."""
    fields = []
    for field in _SEARCHED:
        fields += [Coalesce(field, Value(""), output_field=TextField()), Value("|", TextField())]
    searched = _compact(Concat(*fields, output_field=TextField()))
    configs = configs.annotate(searched_text=searched)
    words = [_compact_text(word) for word in query.split()]
    whole = _compact_text(query)
    if not whole:
        return configs
    every_word = Q()
    for word in words:
        if word:
            every_word &= Q(searched_text__contains=word)
    return configs.filter(Q(searched_text__contains=whole) | every_word)


def with_live_values(
    configs: QuerySet, at: datetime | None = None, environment: Env | None = None
) -> QuerySet:
    """`configs`, each with `live_number` and `live_value_json` (its live version's serialized
    value in `environment`), or None for both when it has no live version yet; in the configs'
    own query."""
    live = _live(at or timezone.now(), environment)
    return configs.annotate(
        live_number=Subquery(live.values("number")[:1]),
        live_value_json=Subquery(live.values("value_json")[:1]),
    )


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


def editable_configs(user) -> QuerySet:
    """The configs `user` may propose changes to (editor or above in their namespace)."""
    return Config.objects.filter(namespace_id__in=access.namespaces_with_role(user, Role.EDITOR))


def editable_config(user, label: str) -> Config:
    """The config "namespace/key" names, or 404 unless `user` may propose changes to it."""
    namespace, _, key = label.partition("/")
    try:
        return (
            editable_configs(user)
            .select_related("namespace", "schema")
            .get(namespace__slug=namespace, key=key)
        )
    except Config.DoesNotExist:
        raise Http404("No such config that you may change.") from None


def live_version(
    config: Config, at: datetime | None = None, environment: Env | None = None
) -> Version | None:
    return (
        versions_of(config, environment)
        .live_at(at or timezone.now())
        .select_related("published_by")
        .first()
    )


def live_versions(config: Config, at: datetime | None = None) -> dict[int, Version]:
    """`config`'s live version in each environment that has one, by environment id, in one
    query whatever the number of environments."""
    now = at or timezone.now()
    later_live = Version.objects.active().filter(
        config=OuterRef("config"),
        environment=OuterRef("environment"),
        effective_at__lte=now,
        number__gt=OuterRef("number"),
    )
    return {
        version.environment_id: version
        for version in Version.objects.filter(config=config)
        .live_at(now)
        .exclude(Exists(later_live))
        .select_related("published_by")
    }


def scheduled_versions(config: Config, environment: Env | None = None) -> list[Version]:
    """Versions published to take effect later, soonest first."""
    return list(
        versions_of(config, environment)
        .active()
        .filter(effective_at__gt=timezone.now())
        .select_related("published_by")
        .order_by("number")
    )


def earliest_effective_at(config: Config, environment: Env | None = None) -> datetime | None:
    """The earliest time a new version may take effect, when a scheduled one stands in the way
    (effective times never go backwards); None when it may take effect now."""
    newest = newest_version(config, environment)
    if newest is None or newest.effective_at <= timezone.now():
        return None
    return newest.effective_at


def recent_versions(
    config: Config, limit: int = 10, environment: Env | None = None
) -> list[Version]:
    return list(
        versions_of(config, environment)
        .select_related("published_by", "cancelled_by")
        .order_by("-number")[:limit]
    )


def schemas_with_usage(*, user=None) -> QuerySet:
    """Schemas by name; with `user`, each with `visible_count`: how many configs use it in the
    namespaces that person may see (counted, not loaded: a schema may serve thousands)."""
    schemas = Schema.objects.order_by("name")
    if user is None:
        return schemas
    visible = Q(configs__namespace_id__in=access.visible_namespace_ids(user))
    return schemas.annotate(visible_count=Count("configs", filter=visible))


def live_version_ids(
    *, namespace: str, at: datetime | None = None, environment: Env | None = None
) -> list[tuple[str, int]]:
    """[(config key, id of its live version in `environment`)] for the namespace's configs that
    have one, by key, in one query."""
    live = _live(at or timezone.now(), environment)
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
        .select_related("user", "environment")
        .prefetch_related("namespaces")
        .order_by("-created_at", "-id")
    )


def value_errors(*, config: Config, value, overrides=None) -> list[dict[str, str]]:
    """Problems with `value` (and its `overrides`) as the next value of `config` (empty when
    it is valid)."""
    schema = config.schema.body if config.schema is not None else None
    return validate_value(value, schema) + overrides_errors(overrides, schema)


@dataclass(frozen=True)
class ValueInForce:
    """A live or scheduled value of a config, as stored (serialized once)."""

    config_id: int
    namespace: str
    key: str
    number: int
    value_json: str
    overrides: list = dataclasses.field(default_factory=list)
    environment_id: int | None = None

    @property
    def label(self) -> str:
        place = environments.labelled(f"{self.namespace}/{self.key}", self.environment_id)
        return f"{place} v{self.number}"


def values_in_force(*, configs: QuerySet, at: datetime | None = None) -> list[ValueInForce]:
    """The live value and every scheduled value of `configs`, in every environment, in one
    query per environment.

    A scheduled version replaced by a later one taking effect at the same instant is never live,
    so it is left out."""
    now = at or timezone.now()
    live_ids: list = []
    for env in environments.every():
        live_ids.append(
            configs.annotate(live_id=Subquery(_live(now, env).values("id")[:1])).values("live_id")
        )
    in_force = Q()
    for ids in live_ids:
        in_force |= Q(pk__in=ids)
    replaced_at_once = Version.objects.active().filter(
        config=OuterRef("config"),
        environment=OuterRef("environment"),
        number__gt=OuterRef("number"),
        effective_at=OuterRef("effective_at"),
    )
    rows = (
        Version.objects.active()
        .filter(config__in=configs.values("pk"))
        .filter(in_force | (Q(effective_at__gt=now) & ~Exists(replaced_at_once)))
        .order_by("config__namespace__slug", "config__key", "environment__position", "number")
        .values_list(
            "config_id",
            "config__namespace__slug",
            "config__key",
            "number",
            "value_json",
            "overrides",
            "environment_id",
        )
    )
    return [
        ValueInForce(config_id, namespace, key, number, text, overrides or [], env_id)
        for config_id, namespace, key, number, text, overrides, env_id in rows
    ]


def values_rejected(
    *, configs: QuerySet, body: dict | None
) -> list[tuple[ValueInForce, list[dict[str, str]]]]:
    """[(value, errors)] for each live or scheduled value of `configs` that `body` rejects
    (the value itself, or a value one of its overrides serves: errors under /overrides).

    One query, one validator, and each distinct value checked once: thousands of configs on
    one schema often share a handful of values."""
    if body is None:
        return []
    validator = validator_for(body)
    verdicts: dict[str, list[dict[str, str]]] = {}
    rejected = []
    for row in values_in_force(configs=configs):
        if row.value_json not in verdicts:
            verdicts[row.value_json] = value_problems(validator, json.loads(row.value_json))
        problems = verdicts[row.value_json]
        if row.overrides:
            problems = problems + overrides_errors(row.overrides, body, validator)
        if problems:
            rejected.append((row, problems))
    return rejected


def schema_breakage(*, schema: Schema, body: dict) -> dict[str, list[dict[str, str]]]:
    """{config version: errors} for each live or scheduled value of `schema`'s configs that `body`
    would reject."""
    rejected = values_rejected(configs=Config.objects.filter(schema=schema), body=body)
    return {row.label: errors for row, errors in rejected}


def _values_in_force_errors(*, config: Config, body: dict | None) -> dict[str, list[dict]]:
    """{config version: errors} for the live and each scheduled value `body` would reject."""
    rejected = values_rejected(configs=Config.objects.filter(pk=config.pk), body=body)
    return {row.label: errors for row, errors in rejected}


def newest_version(config: Config, environment: Env | None = None) -> Version | None:
    """The newest version in `environment` that was not cancelled, live or scheduled: what
    changes build on."""
    return versions_of(config, environment).active().order_by("-number").first()


def schema_version(*, name: str, number: int | None = None) -> SchemaVersion | None:
    """The schema's version `number`, or its newest one; None when there is no such thing."""
    versions = SchemaVersion.objects.select_related("schema", "created_by").filter(
        schema__name=name
    )
    if number is not None:
        return versions.filter(number=number).first()
    return versions.order_by("-number").first()


def schema_versions(schema: Schema) -> QuerySet:
    """Every version of `schema`, newest first, with who made it."""
    return schema.versions.select_related("created_by").order_by("-number")


def schema_config_count(schema: Schema) -> int:
    return Config.objects.filter(schema=schema).count()


def schema_configs_visible(*, user, schema: Schema) -> QuerySet:
    """The configs using `schema` in namespaces `user` may see, by namespace and key."""
    return (
        Config.objects.filter(schema=schema, namespace_id__in=access.visible_namespace_ids(user))
        .select_related("namespace")
        .order_by("namespace__slug", "key")
    )
