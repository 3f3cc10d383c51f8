"""Importing an export folder: its schemas and configs, with changed values proposed for review.

Import never overwrites history: a changed value becomes a change request (reviewed like any
other), a changed schema a schema change request carrying the folder's values of the configs it
would reject, a bypass happens only when asked for with a reason, and a config that does not
exist yet is created at version 1. Everything is checked and applied in one transaction, so an
import happens entirely or not at all. It lives in `reviews` (not beside the folder format in
`configs.transfer`) because it proposes and publishes change requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from common.errors import Conflict
from common.messages import REFUSALS, in_words
from configs import access, environments, selectors, services, transfer
from configs.models import Config, Namespace, Role, Schema, Version, schema_text
from reviews import services as reviews
from reviews.gate import can_publish, gate_for, may_review
from reviews.kinds import schema as schema_kind
from reviews.models import Change, ChangeRequest, changes_hash


def _same(file: transfer.ConfigFile, version: Version) -> bool:
    """Whether the file holds the version's value and overrides."""
    return transfer.same_value(file.value, version.value) and transfer.same_value(
        file.overrides, version.overrides or []
    )


@dataclass
class ImportReport:
    """What an import did (or would do, in a dry run), file by file, and what it refused."""

    dry_run: bool
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, text: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.lines.append(text)

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def folder_import(
    *,
    folder: Path,
    actor: Any,
    title: str | None = None,
    namespaces: list[str] | None = None,
    publish: bool = False,
    bypass_reason: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import the export folder `folder` as `actor`, all or nothing; the report names every
    file that was refused (then nothing is saved), and in a dry run what would happen.

    Raises transfer.TransferError when the folder itself cannot be read, and ValidationError
    for a bypass without a reason."""
    if bypass_reason is not None and not bypass_reason.strip():
        raise ValidationError("A bypass needs a reason in words.")
    contents = transfer.read(folder, namespaces=namespaces)
    importer = _Importer(
        actor=actor,
        title=(title or f"Import from {folder.resolve().name}")[:200],
        publish=publish,
        bypass_reason=bypass_reason,
        # Files that could not be read are already errors; the others are still tried (and
        # rolled back) so that one run names every problem.
        report=ImportReport(dry_run=dry_run, errors=list(contents.errors)),
        folder_values=_values_by_schema(contents.configs),
    )
    with transaction.atomic():
        # Schemas first: configs in the folder may use a new or changed schema.
        for schema_file in contents.schemas:
            importer._each(schema_file.path, importer._import_schema, schema_file)
        for config_file in contents.configs:
            importer._each(config_file.path, importer._import_config, config_file)
        if importer.report.errors or dry_run:
            transaction.set_rollback(True)
    return importer.report


def _same_as_default(place: str, environment: str) -> bool:
    """Whether the config "namespace/key" has the same newest value in `environment` as in the
    default environment (an empty name is the default environment itself)."""
    if not environment:
        return True
    namespace, _, key = place.partition("/")
    config = Config.objects.filter(namespace__slug=namespace, key=key).first()
    if config is None:
        return False
    here = selectors.newest_version(config, environments.named(environment))
    default = selectors.newest_version(config)
    return here is not None and default is not None and here.value_json == default.value_json


def _values_by_schema(files: list[transfer.ConfigFile]) -> dict[tuple[str, str], Any]:
    """The folder's values by (schema name, "namespace/key[@environment]"); a file of another
    environment has its config's schema, named by the config's file in configs/."""
    schemas = {f"{c.namespace}/{c.key}": c.schema for c in files if c.environment is None}
    return {
        (schema, c.label): c.value
        for c in files
        if (schema := schemas.get(f"{c.namespace}/{c.key}")) is not None
    }


@dataclass
class _Importer:
    actor: Any
    title: str
    publish: bool
    bypass_reason: str | None
    report: ImportReport
    # The folder's values by (schema name, "namespace/key"): a changed schema's change request
    # carries them for the configs it would reject.
    folder_values: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Configs whose new value a schema change request of this import carries, and which.
    carried: dict[str, ChangeRequest] = field(default_factory=dict)

    def _each(self, path: Path, apply, item) -> None:
        # A savepoint per file: a refused file leaves nothing behind, and the others are still
        # checked, so one run names every problem (the whole import is rolled back anyway).
        try:
            with transaction.atomic():
                apply(item)
        except REFUSALS as exc:
            self.report.errors.append(f"{path}: {in_words(exc)}")

    def _import_schema(self, file: transfer.SchemaFile) -> None:
        report = self.report
        schema = Schema.objects.filter(name=file.name).first()
        if schema is None:
            schema = services.schema_create(
                name=file.name,
                body=file.body,
                actor=self.actor,
                title=file.title,
                description=file.description,
            )
            report.add("schema_created", f"schema {file.name}: {self._would('created')}")
            return
        if (
            schema_text(schema.body) == schema_text(file.body)
            and schema.title == file.title
            and schema.description == file.description
        ):
            report.add("schema_unchanged", f"schema {file.name}: unchanged")
            return
        if schema.title != file.title or schema.description != file.description:
            services.schema_update(
                schema=schema,
                body=schema.body,
                actor=self.actor,
                reason=self.title,
                title=file.title,
                description=file.description,
            )
            report.add(
                "schema_changed",
                f"schema {file.name}: title and description {self._would('changed')}",
            )
        if schema_text(schema.body) != schema_text(file.body):
            self._propose_schema(file, schema)

    def _propose_schema(self, file: transfer.SchemaFile, schema: Schema) -> None:
        """A changed schema is never saved in place: it is proposed with the folder's values of
        the configs it would reject (or theirs migrated by its defaults), and published here only
        when asked for, as for values."""
        report = self.report
        pending = next(
            (
                change
                for change in ChangeRequest.objects.filter(
                    changes__schema=schema, status__in=ChangeRequest.OPEN
                ).order_by("-updated_at", "-id")
                if change.schema_change is not None
                and schema_text(change.schema_change.body) == schema_text(file.body)
            ),
            None,
        )
        if pending and not (self.publish or self.bypass_reason is not None):
            report.add(
                "already_proposed",
                f"schema {file.name}: already proposed in schema change #{pending.pk} "
                f"({pending.get_status_display().lower()}) {self._url(pending)}",
            )
            self._carry(pending)
            return
        rejected = {item.label for item in schema_kind.plan(schema=schema, body=file.body)}
        change = reviews.schema_change_open(
            schema=schema,
            author=self.actor,
            body=file.body,
            base_version=schema.versions.latest("number").number,
            title=self.title,
            description=f"Imported from {file.path} with manage.py import_configs.",
            values=self._values_for(file.name, rejected),
        )
        if self.bypass_reason is not None or self.publish:
            gate = gate_for(change)
            if self.bypass_reason is not None or (
                gate.satisfied and may_review(self.actor, change)
            ):
                reviews.change_request_publish(
                    change_request=change, actor=self.actor, bypass_reason=self.bypass_reason
                )
                change.forget_changes()
                assert change.schema_change is not None
                version = change.schema_change.published_schema_version
                assert version is not None  # published just now
                bypass = " (bypass)" if self.bypass_reason is not None else ""
                report.add(
                    "published",
                    f"schema {file.name}: {self._would('published')} as version "
                    f"{version.number}{bypass}",
                )
                return
        self._carry(change)
        if report.dry_run:
            text = f"schema {file.name}: the change would be proposed for review"
        else:
            text = (
                f"schema {file.name}: proposed in schema change #{change.pk}, with the values "
                f"of {_configs_in(change)} config(s) "
                f"{self._url(change)}"
            )
        report.add("proposed", text)

    def _values_for(self, schema: str, rejected: set[str]) -> dict[str, Any]:
        """The folder's value for each config and environment the new schema rejects: the
        environment's own file's, else (a folder without that environment's folder) the config's
        file in configs/, which stands for its value in an environment whose value is the
        default environment's. An environment whose value differs keeps it (and the change is
        refused if the new schema still rejects it): the folder cannot say what it should be."""
        values = {}
        for label in rejected:
            place, _, environment = label.partition("@")
            if (schema, label) in self.folder_values:
                values[label] = self.folder_values[schema, label]
            elif (schema, place) in self.folder_values and _same_as_default(place, environment):
                values[label] = self.folder_values[schema, place]
        return values

    def _carry(self, change: ChangeRequest) -> None:
        # By "namespace/key[@environment]", as the folder's files are labelled.
        for namespace, key, environment_id in Change.objects.filter(
            change_request=change, config__isnull=False
        ).values_list("config__namespace__slug", "config__key", "environment_id"):
            self.carried[environments.labelled(f"{namespace}/{key}", environment_id)] = change

    def _import_config(self, file: transfer.ConfigFile) -> None:
        if file.environment is not None:
            self._import_environment_value(file)
            return
        namespace = Namespace.objects.filter(slug=file.namespace).first()
        if namespace is None:
            raise ValidationError(
                f"there is no namespace {file.namespace!r}; an admin creates it in the console "
                "(import does not create namespaces)."
            )
        schema = None
        if file.schema is not None:
            schema = Schema.objects.filter(name=file.schema).first()
            if schema is None:
                raise ValidationError(
                    f"there is no schema {file.schema!r}, neither in the console nor in the "
                    "folder's schemas/."
                )
        owners = list(get_user_model().objects.filter(username__in=file.owners))
        missing = sorted(set(file.owners) - {owner.get_username() for owner in owners})
        if missing:
            raise ValidationError(f"no user named {', '.join(missing)} (owners).")

        config = (
            Config.objects.select_related("namespace", "schema")
            .prefetch_related("owners")
            .filter(namespace=namespace, key=file.key)
            .first()
        )
        if config is None:
            self._create(file, namespace, schema, owners)
        else:
            self._update_details(file, config, schema, owners)
            self._propose(file, config)

    def _import_environment_value(self, file: transfer.ConfigFile) -> None:
        """A file of environments/<name>/: the config's value there, proposed like any other."""
        config = (
            Config.objects.select_related("namespace", "schema")
            .filter(namespace__slug=file.namespace, key=file.key)
            .first()
        )
        if config is None:
            raise ValidationError(
                f"there is no config {file.namespace}/{file.key}: its file in "
                f"{transfer.CONFIGS_DIR}/ creates it, with its details."
            )
        self._propose(file, config)

    def _create(self, file, namespace, schema, owners) -> None:
        services.config_create(
            namespace=namespace,
            key=file.key,
            name=file.name,
            value=file.value,
            overrides=file.overrides,
            actor=self.actor,
            description=file.description,
            schema=schema,
            owners=owners,
            reason=self.title,
        )
        self.report.add("created", f"{file.label}: {self._would('created')} at version 1")

    def _update_details(self, file: transfer.ConfigFile, config: Config, schema, owners) -> None:
        # Values go through review; a config's details are an admin's to change, as in the admin.
        changes = {}
        if file.name != config.name:
            changes["name"] = file.name
        if file.description != config.description:
            changes["description"] = file.description
        if file.schema != (config.schema.name if config.schema is not None else None):
            changes["schema"] = schema
        if file.owners != sorted(owner.get_username() for owner in config.owners.all()):
            changes["owners"] = owners
        if not changes:
            return
        if not access.has_role(self.actor, config.namespace, Role.ADMIN):
            self.report.notes.append(
                f"{file.label}: {', '.join(changes)} in the file differ from the console and "
                f"were not imported (that needs the admin role in {config.namespace.slug})"
            )
            return
        services.config_update(config=config, actor=self.actor, reason=self.title, **changes)
        self.report.add(
            "details_changed", f"{file.label}: {', '.join(changes)} {self._would('changed')}"
        )

    def _propose(self, file: transfer.ConfigFile, config: Config) -> None:
        report = self.report
        env = environments.named(file.environment)
        carried_by = self.carried.get(file.label)
        if carried_by is not None:
            item = carried_by.changes.get(config=config, environment_id=env.id)
            if not transfer.same_value(file.value, item.value):
                raise Conflict(
                    f"schema change #{carried_by.pk} already carries another new value of "
                    f"{config}; change it there, or withdraw it and import again."
                )
            report.add(
                "carried",
                f"{file.label}: its new value goes with schema change #{carried_by.pk}",
            )
            return
        live = selectors.live_version(config, environment=env)
        newest = selectors.newest_version(config, env)
        if live and _same(file, live):
            report.add("unchanged", f"{file.label}: unchanged (version {live.number})")
            return
        if newest and _same(file, newest):
            report.add(
                "unchanged",
                f"{file.label}: unchanged (already scheduled as version {newest.number})",
            )
            return
        newest_number = newest.number if newest else None
        if (
            file.version is not None
            and live
            and newest
            and file.version == live.number != newest_number
        ):
            # The export holds the live value; a version scheduled after it would be undone.
            raise Conflict(
                f"{file.label} has version {newest_number} scheduled for "
                f"{newest.effective_at:%Y-%m-%d %H:%M %Z}, after the live version {live.number} "
                "this file was exported at. Cancel the scheduled version or wait until it takes "
                f'effect, then export again; or remove "version" from the file to propose it on '
                f"version {newest_number}."
            )
        if file.version is not None and file.version != newest_number:
            # Proposing on the newest version would quietly undo what changed since the export.
            raise Conflict(
                f"the file was exported at version {file.version}, but {file.label} is now at "
                f"version {newest_number}. Export again and redo the change, or remove "
                f'"version" from the file to propose it on version {newest_number}.'
            )
        publishing = self.publish or self.bypass_reason is not None
        if not publishing:
            pending = (
                ChangeRequest.objects.filter(
                    changes__config=config,
                    status__in=ChangeRequest.OPEN,
                    proposal_hash=changes_hash(
                        [
                            Change(
                                config=config,
                                environment_id=env.id,
                                base_version=newest,
                                value=file.value,
                                overrides=file.overrides,
                            )
                        ]
                    ),
                )
                .order_by("pk")
                .first()
            )
            if pending:  # importing the same folder twice does not propose the same change twice
                report.add(
                    "already_proposed",
                    f"{file.label}: already proposed in change request #{pending.pk} "
                    f"({pending.get_status_display().lower()}) {self._url(pending)}",
                )
                return

        change_request = reviews.change_request_open(
            config=config,
            author=self.actor,
            value=file.value,
            overrides=file.overrides,
            title=self.title,
            description=f"Imported from {file.path} with manage.py import_configs.",
            base_version=newest_number,
            environment=env,
        )
        if self.bypass_reason is not None:
            version = reviews.change_request_publish(
                change_request=change_request, actor=self.actor, bypass_reason=self.bypass_reason
            )
            assert version is not None  # a config's change request publishes a version
            report.add(
                "published",
                f"{file.label}: {self._would('published')} as version {version.number} (bypass)",
            )
            return
        gate = gate_for(change_request)
        if self.publish and can_publish(self.actor, change_request) and gate.satisfied:
            version = reviews.change_request_publish(
                change_request=change_request, actor=self.actor
            )
            assert version is not None  # a config's change request publishes a version
            report.add(
                "published", f"{file.label}: {self._would('published')} as version {version.number}"
            )
            return
        waiting = f" (needs {'; '.join(gate.missing)})" if gate.missing else ""
        if report.dry_run:
            text = f"{file.label}: would be proposed for review{waiting}"
        else:
            text = (
                f"{file.label}: proposed in change request #{change_request.pk}{waiting} "
                f"{self._url(change_request)}"
            )
        report.add("proposed", text)

    def _would(self, done: str) -> str:
        return f"would be {done}" if self.report.dry_run else done

    @staticmethod
    def _url(change_request: ChangeRequest) -> str:
        return settings.CONSOLE_BASE_URL.rstrip("/") + change_request.get_absolute_url()


def _configs_in(change: ChangeRequest) -> int:
    """How many configs a schema change gives values to (it has a change for each config in
    each environment)."""
    return change.changes.filter(config__isnull=False).values("config_id").distinct().count()
