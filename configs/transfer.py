"""The export folder: its layout, writing it, and reading it back strictly.

One file per namespace, schema and config, with sorted keys, so that a folder kept in git shows
each change as a small diff and exporting twice gives identical bytes (on SQLite and PostgreSQL
alike: jsonb does not keep key order, so sorting is the only order both agree on).

    DIR/namespaces/<slug>.json          {slug, name, description, required_approvals,
                                         owner_approval_required}   (for the record only)
    DIR/schemas/<name>.json             {name, title, description, body, version}
    DIR/configs/<namespace>/<key>.json  {namespace, key, name, description, schema,
                                         schema_version, owners, version, value}
                                        (the default environment's value, as before
                                         environments: a folder made then imports the same)
    DIR/environments/<environment>/<namespace>/<key>.json
                                        {namespace, key, environment, version, value}
                                        (one folder per other environment: its values only;
                                         a config's details are in configs/)

Applying a folder goes through the review gate, so it lives with the import command, which sits
above both apps; this module knows only configs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Max, OuterRef, Subquery
from django.http import Http404
from django.utils import timezone

from common.errors import DomainError
from common.jsontext import BadJSON, parse_json
from configs import environments, selectors
from configs.models import Config, Namespace, Schema, SchemaVersion, Version, canonical_json

NAMESPACES_DIR = "namespaces"
SCHEMAS_DIR = "schemas"
CONFIGS_DIR = "configs"
ENVIRONMENTS_DIR = "environments"


class TransferError(DomainError):
    """A problem with the folder as a whole (not one file in it)."""


def dump(data: dict) -> bytes:
    """The one way a file of the folder is written: stable, readable, newline-terminated, keys
    sorted, but for a schema's body: its order is the order its form shows its fields in."""
    data = _sorted(data, keep="body" if "body" in data else None)
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def _sorted(value: Any, keep: str | None = None) -> Any:
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {k: v if k == keep else _sorted(v) for k, v in sorted(value.items())}


def same_value(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


# --- export -------------------------------------------------------------------------------


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # configs without a live value, in words


def _namespaces(slugs: list[str] | None) -> list[Namespace]:
    namespaces = list(Namespace.objects.order_by("slug"))
    if not slugs:
        return namespaces
    known = {namespace.slug for namespace in namespaces}
    unknown = sorted(set(slugs) - known)
    if unknown:
        raise TransferError(f"No namespace named {', '.join(unknown)}.")
    return [namespace for namespace in namespaces if namespace.slug in slugs]


def _write(path: Path, data: Any, result: ExportResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump(data))
    result.written.append(path)


def export(directory: Path, *, namespaces: list[str] | None = None) -> ExportResult:
    """Write the namespaces, schemas and live config values to `directory`.

    With `namespaces`, only those, and only the schemas their configs use. Files are written or
    overwritten, never deleted: the folder may hold other people's files.
    """
    result = ExportResult()
    selected = _namespaces(namespaces)
    configs = _with_live(
        Config.objects.filter(namespace__in=selected)
        .select_related("namespace", "schema")
        .prefetch_related("owners"),
        environments.default(),
    )
    schemas = Schema.objects.order_by("name")
    if namespaces:
        # A subquery, not a join with DISTINCT: that would compare every schema's JSON body.
        used = Config.objects.filter(namespace__in=selected).values("schema_id")
        schemas = schemas.filter(pk__in=used)

    for namespace in selected:
        _write(
            directory / NAMESPACES_DIR / f"{namespace.slug}.json",
            {
                "slug": namespace.slug,
                "name": namespace.name,
                "description": namespace.description,
                "required_approvals": namespace.required_approvals,
                "owner_approval_required": namespace.owner_approval_required,
            },
            result,
        )
    schema_numbers = dict(
        SchemaVersion.objects.filter(schema__in=schemas)
        .values("schema_id")
        .annotate(newest=Max("number"))
        .values_list("schema_id", "newest")
    )
    for schema in schemas:
        _write(
            directory / SCHEMAS_DIR / f"{schema.name}.json",
            {
                "name": schema.name,
                "title": schema.title,
                "description": schema.description,
                "body": schema.body,
                "version": schema_numbers.get(schema.pk),
            },
            result,
        )
    for config in configs:
        if config.live_number is None:  # only a scheduled first version: no live value to back up
            result.skipped.append(f"{config} has no live value yet")
            continue
        _write(
            directory / CONFIGS_DIR / config.namespace.slug / f"{config.key}.json",
            {
                "namespace": config.namespace.slug,
                "key": config.key,
                "name": config.name,
                "description": config.description,
                "schema": config.schema.name if config.schema_id else None,
                "schema_version": config.live_schema_version,
                "owners": sorted(user.get_username() for user in config.owners.all()),
                "version": config.live_number,
                "value": json.loads(config.live_value_json),
                # Only where there are some: a folder exported before overrides reads the same.
                **_overrides_field(config.live_overrides),
            },
            result,
        )
    for env in environments.every():
        if env != environments.default():
            _export_environment(directory, env, selected, result)
    return result


def _with_live(configs, env: environments.Env):
    """`configs` by namespace and key, each with its live version's number, value, overrides
    and schema version in `env`: one query, whatever the number of configs."""
    live = Version.objects.filter(config=OuterRef("pk"), environment_id=env.id).live_at(
        timezone.now()
    )
    return selectors.with_live_values(
        configs.order_by("namespace__slug", "key"), environment=env
    ).annotate(
        live_schema_version=Subquery(live.values("schema_version__number")[:1]),
        live_overrides=Subquery(live.values("overrides")[:1]),
    )


def _export_environment(
    directory: Path, env: environments.Env, selected: list[Namespace], result: ExportResult
) -> None:
    """Write each config's live value in `env` to the environment's own folder."""
    configs = _with_live(
        Config.objects.filter(namespace__in=selected).select_related("namespace"), env
    )
    for config in configs:
        if config.live_number is None:
            result.skipped.append(f"{config} has no live value in {env.name} yet")
            continue
        _write(
            directory / ENVIRONMENTS_DIR / env.name / config.namespace.slug / f"{config.key}.json",
            {
                "namespace": config.namespace.slug,
                "key": config.key,
                "environment": env.name,
                "version": config.live_number,
                "value": json.loads(config.live_value_json),
                **_overrides_field(config.live_overrides),
            },
            result,
        )


def _overrides_field(overrides: Any) -> dict:
    if isinstance(overrides, str):  # a JSON column read through a subquery, on some databases
        overrides = json.loads(overrides)
    return {"overrides": overrides} if overrides else {}


# --- reading a folder back ----------------------------------------------------------------


class BadFile(DomainError):
    """A file of the folder that cannot be imported; the message names the file."""

    def __init__(self, path: Path, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


@dataclass
class SchemaFile:
    path: Path
    name: str
    title: str
    description: str
    body: dict


@dataclass
class ConfigFile:
    path: Path
    namespace: str
    key: str
    name: str
    description: str
    schema: str | None
    owners: list[str]
    version: int | None  # the version the file was exported at; None = propose on the newest
    value: Any
    overrides: list = field(default_factory=list)  # none when the file has no "overrides"
    # The environment of a file in environments/<name>/ (its value only); None: configs/, the
    # config's details and the default environment's value.
    environment: str | None = None

    @property
    def label(self) -> str:
        place = f"{self.namespace}/{self.key}"
        return f"{place}@{self.environment}" if self.environment else place


@dataclass
class Folder:
    schemas: list[SchemaFile] = field(default_factory=list)
    configs: list[ConfigFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _is_text(value) -> bool:
    return isinstance(value, str)


def _is_int_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _is_text_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# field: (required, check, what it must be)
_SCHEMA_FIELDS = {
    "name": (True, _is_text, "a text"),
    "title": (False, _is_text, "a text"),
    "description": (False, _is_text, "a text"),
    "body": (True, lambda v: isinstance(v, dict), "a JSON object (the JSON Schema)"),
    # Which schema version the body is, for people reading the folder; import makes the next
    # version itself when the body differs.
    "version": (False, _is_int_or_none, "a schema version number or null"),
}
_CONFIG_FIELDS = {
    "namespace": (True, _is_text, "a text"),
    "key": (True, _is_text, "a text"),
    "name": (True, _is_text, "a text"),
    "description": (False, _is_text, "a text"),
    "schema": (False, lambda v: v is None or _is_text(v), "a schema name or null"),
    "owners": (False, _is_text_list, "a list of usernames"),
    "version": (False, _is_int_or_none, "a version number or null"),
    "schema_version": (False, _is_int_or_none, "a schema version number or null"),
    "value": (True, lambda v: True, "any JSON"),
    "overrides": (False, lambda v: isinstance(v, list), "a list of overrides"),
}
_ENVIRONMENT_CONFIG_FIELDS = {
    "namespace": (True, _is_text, "a text"),
    "key": (True, _is_text, "a text"),
    "environment": (True, _is_text, "the environment's name"),
    "version": (False, _is_int_or_none, "a version number or null"),
    "value": (True, lambda v: True, "any JSON"),
    "overrides": (False, lambda v: isinstance(v, list), "a list of overrides"),
}


def _read_object(path: Path, fields: dict) -> dict:
    """The file's JSON object, checked field by field against `fields`."""
    try:
        data = parse_json(path.read_bytes())
    except BadJSON as exc:
        raise BadFile(path, exc.for_people()) from exc
    if not isinstance(data, dict):
        raise BadFile(path, "the file must hold one JSON object.")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        # A misspelt field (say "vaule") would otherwise be silently ignored.
        raise BadFile(path, f"unknown field {', '.join(map(repr, unknown))}.")
    for name, (required, check, what) in fields.items():
        if name not in data:
            if required:
                raise BadFile(path, f"the field {name!r} is missing.")
        elif not check(data[name]):
            raise BadFile(path, f"the field {name!r} must be {what}.")
    return data


def _read_schema(path: Path) -> SchemaFile:
    data = _read_object(path, _SCHEMA_FIELDS)
    if data["name"] != path.stem:
        raise BadFile(path, f"the schema is named {data['name']!r} but the file {path.stem!r}.")
    return SchemaFile(
        path=path,
        name=data["name"],
        title=data.get("title", ""),
        description=data.get("description", ""),
        body=data["body"],
    )


def _read_config(path: Path) -> ConfigFile:
    data = _read_object(path, _CONFIG_FIELDS)
    where = f"{path.parent.name}/{path.stem}"
    if f"{data['namespace']}/{data['key']}" != where:
        raise BadFile(
            path,
            f"the file holds {data['namespace']}/{data['key']} but its place in the folder "
            f"says {where}.",
        )
    return ConfigFile(
        path=path,
        namespace=data["namespace"],
        key=data["key"],
        name=data["name"],
        description=data.get("description", ""),
        schema=data.get("schema"),
        owners=sorted(set(data.get("owners", []))),
        version=data.get("version"),
        value=data["value"],
        overrides=data.get("overrides", []),
    )


def _read_environment_config(path: Path) -> ConfigFile:
    data = _read_object(path, _ENVIRONMENT_CONFIG_FIELDS)
    where = f"{path.parent.parent.name}: {path.parent.name}/{path.stem}"
    said = f"{data['environment']}: {data['namespace']}/{data['key']}"
    if said != where:
        raise BadFile(path, f"the file holds {said} but its place in the folder says {where}.")
    try:
        environments.named(data["environment"])
    except Http404:
        names = ", ".join(env.name for env in environments.every())
        raise BadFile(
            path, f"there is no environment {data['environment']!r} (there are {names})."
        ) from None
    return ConfigFile(
        path=path,
        namespace=data["namespace"],
        key=data["key"],
        name="",
        description="",
        schema=None,
        owners=[],
        version=data.get("version"),
        value=data["value"],
        overrides=data.get("overrides", []),
        environment=data["environment"],
    )


def read(directory: Path, *, namespaces: list[str] | None = None) -> Folder:
    """Every schema and config file of `directory`, parsed strictly; problems in `errors`.

    With `namespaces`, only those namespaces' configs and the schemas they name. Namespace files
    are not read: namespaces and their review policies are an admin's decision in the console.
    """
    if not directory.is_dir():
        raise TransferError(f"{directory} is not a folder.")
    schemas_dir = directory / SCHEMAS_DIR
    if not any(
        (directory / name).is_dir() for name in (SCHEMAS_DIR, CONFIGS_DIR, ENVIRONMENTS_DIR)
    ):
        raise TransferError(
            f"{directory} has no {SCHEMAS_DIR}/, {CONFIGS_DIR}/ or {ENVIRONMENTS_DIR}/ folder; "
            "is it an export made by export_configs?"
        )
    folder = Folder()
    # configs/ first: a config the folder creates exists before its other environments' values.
    for pattern, read in (
        (CONFIGS_DIR + "/*/*.json", _read_config),
        (ENVIRONMENTS_DIR + "/*/*/*.json", _read_environment_config),
    ):
        for path in sorted(directory.glob(pattern)):
            if namespaces and path.parent.name not in namespaces:
                continue
            try:
                folder.configs.append(read(path))
            except BadFile as exc:
                folder.errors.append(exc.for_people())

    schema_paths = sorted(schemas_dir.glob("*.json")) if schemas_dir.is_dir() else []
    if namespaces:
        wanted = {config.schema for config in folder.configs if config.environment is None}
        schema_paths = [path for path in schema_paths if path.stem in wanted]
    for path in schema_paths:
        try:
            folder.schemas.append(_read_schema(path))
        except BadFile as exc:
            folder.errors.append(exc.for_people())
    return folder
