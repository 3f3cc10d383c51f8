"""A schema change: a schema's next version, and the new value of every config it would
otherwise reject, in one change request (the gate, the states and the lifecycle are
reviews/services.py's, as for every kind; this module holds what only a schema change does).

The plan (which configs the new schema would reject, and their migrated values) is computed
set-based: one query for the values in force, one for the configs' newest versions, one
validator, and each distinct value checked once. So are storing it, the conflict check and
publishing: a schema thousands of configs use is read with aggregate queries and rows, never
config by config.

Rules, besides those every change request follows:
- Only admins of every namespace whose configs use the schema may propose a change to it.
- A config whose live or scheduled value the new schema rejects gets a change: its newest value
  with the defaults of new required properties filled in (`migrated`), or the value the author
  gives. While any is invalid the change request cannot be in review (InvalidValues names each
  config and path); it can be kept as the author's draft, fixed one config at a time, and
  submitted once every value fits.
- Publishing writes the schema version and one version per config in one transaction, or
  nothing. If the schema or any config moved past its base (or a config the plan did not cover
  is now rejected), the whole change request is conflicted, and its author rebases it.
- A scheduled version in the way of a config is named, with the earliest instant the change can
  take effect; publishing with that `effective_at` schedules every config then.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from common.bulk import copy_rows
from common.errors import InvalidValue
from configs import environments
from configs.models import Config, Schema, SchemaVersion, Version, canonical_json
from configs.selectors import values_rejected
from configs.services import NewVersion, schema_version_add, versions_publish
from configs.validation import (
    InvalidSchema,
    check_schema,
    new_value_problems,
    overrides_errors,
    resolve,
    validator_for,
)
from reviews.models import Change, ChangeRequest, changes_hash


class InvalidValues(InvalidValue):
    """Values of several configs that the proposed schema rejects; each error names its config."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__(errors)
        configs = sorted({e["config"] for e in errors})
        self.args = (
            f"The new schema would reject the value of {', '.join(configs)}: give a value that "
            "fits, or a default for each new required field.",
        )


def fill_defaults(value: Any, schema: dict, root: dict | None = None) -> Any:
    """`value` with every missing required property that has a `default` filled in, at every
    depth (in each item of a list, too)."""
    root = root if root is not None else schema
    schema = resolve(schema, root)
    if isinstance(value, list):
        items = schema.get("items")
        return [fill_defaults(v, items, root) for v in value] if isinstance(items, dict) else value
    if not isinstance(value, dict):
        return value
    props = schema.get("properties") or {}
    filled = {k: fill_defaults(v, props[k], root) if k in props else v for k, v in value.items()}
    for key in schema.get("required") or []:
        node = resolve(props.get(key) or {}, root)
        if key not in filled and "default" in node:
            filled[key] = copy.deepcopy(node["default"])
    return filled


@dataclass
class Affected:
    """One config the new schema would reject, and what it would become."""

    config_id: int
    namespace: str
    key: str
    name: str
    base_id: int
    base_number: int
    base_effective_at: datetime
    value: Any
    migrated: bool
    errors: list[dict[str, str]]
    environment_id: int | None = None

    @property
    def label(self) -> str:
        """ "namespace/key", with "@environment" outside the default environment."""
        return environments.labelled(f"{self.namespace}/{self.key}", self.environment_id)

    @property
    def value_json(self) -> str:
        return json.dumps(self.value, indent=2, ensure_ascii=False)


def plan(*, schema: Schema, body: dict, values: dict | None = None) -> list[Affected]:
    """Each config and environment whose live or scheduled value `body` rejects, with its new
    value (`values` by "namespace/key", or "namespace/key@environment" outside the default
    environment; else migrated by the schema's defaults) and that value's problems.

    Set-based, for schemas thousands of configs use: a few queries per environment, rows as
    plain values, and each distinct stored value parsed, migrated and checked once."""
    values = values or {}
    rejected = values_rejected(configs=Config.objects.filter(schema=schema), body=body)
    affected = {(row.config_id, row.environment_id) for row, _errors in rejected}
    if not affected:
        return []
    lines = []
    bases = {}
    for env in environments.every():
        # Every config of the schema with its newest version there, filtered here rather than
        # by a list of thousands of ids sent to the database.
        newest = (
            Version.objects.active()
            .filter(config=OuterRef("pk"), environment_id=env.id)
            .order_by("-number")
        )
        on_schema = Config.objects.filter(schema=schema).annotate(
            newest_id=Subquery(newest.values("id")[:1])
        )
        lines += [
            (row, env)
            for row in on_schema.order_by("namespace__slug", "key").values_list(
                "pk", "namespace__slug", "key", "name", "newest_id"
            )
            if (row[0], env.id) in affected
        ]
        bases.update(
            {
                pk: (number, effective_at, text, overrides)
                for pk, number, effective_at, text, overrides in Version.objects.filter(
                    pk__in=on_schema.values("newest_id")
                ).values_list("pk", "number", "effective_at", "value_json", "overrides")
            }
        )
    lines.sort(key=lambda line: (line[0][1], line[0][2], line[1].position))
    validator = validator_for(body)
    migrated: dict[str, tuple[Any, list[dict[str, str]]]] = {}
    plan = []
    for (config_id, namespace, key, name, base_id), env in lines:
        number, effective_at, text, overrides = bases[base_id]
        label = environments.labelled(f"{namespace}/{key}", env.id)
        if label in values:
            value = values[label]
            errors = new_value_problems(validator, value)
        else:
            if text not in migrated:
                value = fill_defaults(json.loads(text), body)
                migrated[text] = (value, new_value_problems(validator, value))
            value, errors = migrated[text]
        if overrides:  # kept by the new version: what they serve must fit the new schema too
            errors = errors + overrides_errors(overrides, body, validator)
        plan.append(
            Affected(
                config_id=config_id,
                namespace=namespace,
                key=key,
                name=name,
                base_id=base_id,
                base_number=number,
                base_effective_at=effective_at,
                value=value,
                migrated=label not in values,
                errors=errors,
                environment_id=env.id,
            )
        )
    return plan


def invalid(plan: list[Affected]) -> list[dict[str, str]]:
    """Every problem of the plan's values, each naming its config."""
    return [
        {"config": item.label, "path": error["path"], "message": error["message"]}
        for item in plan
        for error in item.errors
    ]


def check_body(body) -> None:
    try:
        check_schema(body)
    except InvalidSchema as exc:
        raise ValidationError(f"The schema cannot be used: {exc.message}") from exc


def refuse_unaffected(plan: list[Affected], values: dict | None) -> None:
    """Values given for configs the new schema does not reject have no place in the change."""
    unknown = sorted(set(values or {}) - {item.label for item in plan})
    if unknown:
        raise ValidationError(
            f"Only configs the new schema would reject take a new value here, not "
            f"{', '.join(unknown)}."
        )


def given_values(change_request: ChangeRequest) -> dict[str, Any]:
    """The values its author gave (not migrated), by "namespace/key[@environment]"."""
    return {
        environments.labelled(f"{namespace}/{key}", environment_id): value
        for namespace, key, environment_id, value in Change.objects.filter(
            change_request=change_request, kind=Change.Kind.CONFIG, migrated=False
        ).values_list("config__namespace__slug", "config__key", "environment_id", "value")
    }


def store(
    change_request: ChangeRequest,
    *,
    schema: Schema,
    base: SchemaVersion,
    body: dict,
    plan: list[Affected],
) -> None:
    """Write the set: the schema's change and one change per affected config (any earlier
    ones replaced), and the hash of the whole proposal."""
    # Without signals (so without a history row and a model instance per change): thousands of
    # migrated values are replaced at each edit and rebase; the audit events say what changed.
    stale = Change.objects.filter(change_request=change_request)
    stale._raw_delete(stale.db)
    Change.objects.create(
        change_request=change_request,
        kind=Change.Kind.SCHEMA,
        schema=schema,
        schema_base_version=base,
        body=body,
    )
    rows = [(i.config_id, i.base_id, canonical_json(i.value)) for i in plan]
    # As plain rows (COPY on PostgreSQL): a schema thousands of configs use gets thousands of
    # changes, and building a model for each cost seconds. No history rows for these: the audit
    # events name them, and the set is rewritten whole.
    copy_rows(
        Change,
        [
            "change_request_id",
            "kind",
            "config_id",
            "environment_id",
            "base_version_id",
            "value",
            "migrated",
            "problems",
            "overrides",
        ],
        (
            (
                change_request.pk,
                Change.Kind.CONFIG,
                config_id,
                item.environment_id,
                base_id,
                text,
                item.migrated,
                json.dumps(item.errors, ensure_ascii=False),
                # The config keeps its overrides (publishing leaves them as they are); the plan
                # checked them against the new schema.
                "[]",
            )
            for (config_id, base_id, text), item in zip(rows, plan, strict=True)
        ),
    )
    change_request.forget_changes()
    change_request.proposal_hash = changes_hash(rows, body)


def problems(change_request: ChangeRequest) -> list[dict[str, str]]:
    """What the proposed schema rejects in the values stored (only a draft holds any)."""
    return [
        {"config": environments.labelled(f"{namespace}/{key}", environment_id), **problem}
        for namespace, key, environment_id, found in Change.objects.filter(
            change_request=change_request
        )
        .exclude(problems=[])
        .values_list("config__namespace__slug", "config__key", "environment_id", "problems")
        for problem in found
    ]


def config_rows(change_request: ChangeRequest) -> QuerySet:
    """Each config change as a plain row, by namespace and key: a schema thousands of configs
    use gives thousands of changes, and reading them as model instances with their configs and
    versions (each version's value parsed for nothing) took seconds."""
    return (
        Change.objects.filter(change_request=change_request, config__isnull=False)
        .order_by("config__namespace__slug", "config__key", "environment__position")
        .values(
            "value",
            "migrated",
            "problems",
            "environment_id",
            config_pk=F("config_id"),
            namespace=F("config__namespace__slug"),
            key=F("config__key"),
            name=F("config__name"),
            base_number=F("base_version__number"),
            published_number=F("published_version__number"),
        )
    )


def labels_by_namespace(change_request: ChangeRequest) -> dict[str, list[str]]:
    """The "namespace/key" of each config it changes, by namespace slug."""
    found: dict[str, list[str]] = {}
    for namespace, key in (
        Change.objects.filter(change_request=change_request, config__isnull=False)
        .order_by("config__namespace__slug", "config__key")
        .values_list("config__namespace__slug", "config__key")
    ):
        labels = found.setdefault(namespace, [])
        if f"{namespace}/{key}" not in labels[-1:]:  # once, whatever its environments
            labels.append(f"{namespace}/{key}")
    return found


def earliest_instant(change_request: ChangeRequest) -> tuple[datetime | None, list[str]]:
    """The earliest instant every config change can take effect (after every scheduled
    version in the way), and the scheduled versions that are in the way, in words."""
    waiting = (
        Change.objects.filter(
            change_request=change_request, base_version__effective_at__gt=timezone.now()
        )
        .order_by("config__namespace__slug", "config__key")
        .values_list(
            "config__namespace__slug",
            "config__key",
            "environment_id",
            "base_version__number",
            "base_version__effective_at",
        )
    )
    in_the_way = [
        (
            f"{environments.labelled(f'{namespace}/{key}', environment_id)} version {number} "
            f"(takes effect {at:%Y-%m-%d %H:%M} UTC)",
            at,
        )
        for namespace, key, environment_id, number, at in waiting
    ]
    if not in_the_way:
        return None, []
    return max(at for _, at in in_the_way), [words for words, _ in in_the_way]


def moved(change_request: ChangeRequest, change: Change) -> str:
    """Why the proposal no longer fits what is stored, or ''.

    In a number of queries that does not grow with the configs: the schema's newest version,
    the first change whose config's newest version is not its base, and the values in force
    of the configs without a change."""
    newest = change.schema.versions.latest("number")
    if newest.pk != change.schema_base_version_id:
        return f"Schema {change.schema.name} moved to version {newest.number}."
    newest_version = (
        Version.objects.active()
        .filter(config=OuterRef("config_id"), environment=OuterRef("environment_id"))
        .order_by("-number")
    )
    config_changes = Change.objects.filter(change_request=change_request, config__isnull=False)
    first_moved = (
        config_changes.annotate(newest_id=Subquery(newest_version.values("id")[:1]))
        .filter(~Q(newest_id=F("base_version_id")) | Q(newest_id__isnull=True))
        .order_by("config_id")
        .values_list(
            "config__namespace__slug", "config__key", "environment_id", "base_version__number"
        )
        .first()
    )
    if first_moved:
        namespace, key, environment_id, number = first_moved
        label = environments.labelled(f"{namespace}/{key}", environment_id)
        return f"{label} moved past version {number}."
    changed = set(config_changes.values_list("config_id", "environment_id"))
    rejected = [
        row
        for row, _errors in values_rejected(
            configs=Config.objects.filter(schema=change.schema), body=change.body
        )
        if (row.config_id, row.environment_id) not in changed
    ]
    if rejected:
        return f"{rejected[0].label} now has a value the new schema rejects."
    return ""


def lock_configs(change: Change) -> None:
    """Lock the schema row and every config using it, in the order a config publish does
    (which locks its config), so a racing config publish and this one see each other."""
    # FOR NO KEY UPDATE: a config publish inserting a version takes a key-share lock on the
    # schema row (the version's foreign key) while holding its config; a full lock here would
    # wait on it while it waits on us.
    Schema.objects.select_for_update(no_key=True).filter(pk=change.schema.pk).first()
    list(
        Config.objects.select_for_update(of=("self",))
        .filter(schema=change.schema)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def publish(
    change_request: ChangeRequest,
    change: Change,
    *,
    actor,
    effective_at: datetime | None,
    bypass_reason: str,
) -> tuple[SchemaVersion, dict[str, int]]:
    """Write the schema version and every config's new version (the caller holds the locks
    and has checked the gate and `moved`); returns the schema version and each config's new
    version number by "namespace/key"."""
    version = schema_version_add(
        schema=change.schema, body=change.body, actor=actor, reason=change_request.title
    )
    # Only what publishing needs of each change, as plain rows.
    rows = list(
        Change.objects.filter(change_request=change_request, config__isnull=False)
        .order_by("config_id", "environment_id")
        .values_list(
            "config_id",
            "config__namespace__slug",
            "config__key",
            "value",
            "base_version__number",
            "environment_id",
        )
    )
    # Every config at once (checked against the new body just written), in a number of
    # queries that does not grow with the thousands of configs a schema has.
    published = versions_publish(
        changes=[
            NewVersion(
                config_id=config_id,
                value=value,
                base_number=base_number,
                environment_id=environment_id,
            )
            for config_id, _namespace, _key, value, base_number, environment_id in rows
        ],
        actor=actor,
        reason=change_request.title,
        effective_at=effective_at,
        bypass_reason=bypass_reason,
    )
    # Each config's newest version in the change's environment is the one just published (its
    # row is locked).
    Change.objects.filter(change_request=change_request, config__isnull=False).update(
        published_version=Subquery(
            Version.objects.filter(
                config=OuterRef("config_id"), environment=OuterRef("environment_id")
            )
            .order_by("-number")
            .values("pk")[:1]
        )
    )
    Change.objects.filter(pk=change.pk).update(published_schema_version=version)
    return version, {
        environments.labelled(f"{namespace}/{key}", environment_id): published[
            config_id, environments.id_of(environments.by_id(environment_id))
        ].number
        for config_id, namespace, key, _value, _base, environment_id in rows
    }
