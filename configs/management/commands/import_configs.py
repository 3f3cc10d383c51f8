"""`manage.py import_configs DIR --user U`: propose the values of an export folder for review.

Import never overwrites history: a changed value becomes a change request (reviewed like any
other), a bypass happens only when asked for with a reason, and a config that does not exist
yet is created at version 1. Everything is checked and applied in one transaction, so an import
happens entirely or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from configconsole.messages import in_words
from configs import access, selectors, services, transfer
from configs.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from configs.models import Config, Namespace, Role, Schema, canonical_json
from reviews import services as reviews
from reviews.gate import can_publish, gate_for
from reviews.models import ChangeRequest, value_hash

# The domain errors a service raises for one file; anything else is a bug and should surface.
FILE_ERRORS = (
    PermissionDenied,
    ValidationError,
    InvalidValue,
    SchemaInUse,
    Conflict,
    RuleViolation,
)


@dataclass
class Report:
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


class Command(BaseCommand):
    help = (
        "Import an export folder (see export_configs) as USER, in one transaction: new schemas "
        "and configs are created, changed schemas are updated (a change that would make a live "
        "value invalid is refused), and each config whose value differs from its live value "
        "becomes a change request in review, based on the newest version. Nothing is published "
        "unless you ask: --publish publishes where the review policy needs no approval, "
        "--bypass-reason publishes everything at once as a bypass (admin role required). "
        "Any bad file stops the whole import, naming the file. See docs/export-import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="A folder made by export_configs.")
        parser.add_argument(
            "--user",
            required=True,
            metavar="USER",
            help="The person the changes are made and proposed as (editor role needed to "
            "propose, admin role to create configs or bypass).",
        )
        parser.add_argument(
            "--namespace",
            action="append",
            dest="namespaces",
            metavar="NS",
            help="Import only this namespace's configs and the schemas they use (repeatable).",
        )
        parser.add_argument(
            "--title",
            help='Title of the change requests (default: "Import from <folder name>").',
        )
        how = parser.add_mutually_exclusive_group()
        how.add_argument(
            "--publish",
            action="store_true",
            help="Also publish each change whose review policy lets USER publish it without "
            "approvals; the others stay in review.",
        )
        how.add_argument(
            "--bypass-reason",
            metavar="REASON",
            help="Publish every change at once without the required approvals, recorded as a "
            "bypass with this reason. Needs the admin role in each namespace.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check everything and report what would happen, then save nothing.",
        )

    def handle(self, *args, directory, user, namespaces, title, publish, bypass_reason, **opts):
        folder_path = Path(directory)
        actor = get_user_model().objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {user!r}.")
        if bypass_reason is not None and not bypass_reason.strip():
            raise CommandError("--bypass-reason needs a reason in words.")
        try:
            folder = transfer.read(folder_path, namespaces=namespaces)
        except transfer.TransferError as exc:
            raise CommandError(str(exc)) from exc

        self.actor = actor
        self.publish = publish
        self.bypass_reason = bypass_reason
        self.title = (title or f"Import from {folder_path.resolve().name}")[:200]
        # Files that could not be read are already errors; the others are still tried (and
        # rolled back) so that one run names every problem.
        self.report = Report(dry_run=opts["dry_run"], errors=list(folder.errors))

        with transaction.atomic():
            # Schemas first: configs in the folder may use a new or changed schema.
            for schema_file in folder.schemas:
                self._each(schema_file.path, self._import_schema, schema_file)
            for config_file in folder.configs:
                self._each(config_file.path, self._import_config, config_file)
            if self.report.errors or self.report.dry_run:
                transaction.set_rollback(True)

        if self.report.errors:
            raise CommandError(self._failure(self.report.errors))
        self._print_summary(folder_path)

    # --- one file at a time --------------------------------------------------------------

    def _each(self, path: Path, apply, item) -> None:
        # A savepoint per file: a refused file leaves nothing behind, and the others are still
        # checked, so one run names every problem (the whole import is rolled back anyway).
        try:
            with transaction.atomic():
                apply(item)
        except FILE_ERRORS as exc:
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
            canonical_json(schema.body) == canonical_json(file.body)
            and schema.title == file.title
            and schema.description == file.description
        ):
            report.add("schema_unchanged", f"schema {file.name}: unchanged")
            return
        services.schema_update(
            schema=schema,
            body=file.body,
            actor=self.actor,
            reason=self.title,
            title=file.title,
            description=file.description,
        )
        report.add("schema_changed", f"schema {file.name}: {self._would('changed')}")

    def _import_config(self, file: transfer.ConfigFile) -> None:
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

    def _create(self, file, namespace, schema, owners) -> None:
        services.config_create(
            namespace=namespace,
            key=file.key,
            name=file.name,
            value=file.value,
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
        if file.schema != (config.schema.name if config.schema_id else None):
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
        live = selectors.live_version(config)
        newest = selectors.newest_version(config)
        if live and transfer.same_value(file.value, live.value):
            report.add("unchanged", f"{file.label}: unchanged (version {live.number})")
            return
        if newest and transfer.same_value(file.value, newest.value):
            report.add(
                "unchanged",
                f"{file.label}: unchanged (already scheduled as version {newest.number})",
            )
            return
        newest_number = newest.number if newest else None
        if file.version is not None and live and file.version == live.number != newest_number:
            # The export holds the live value; a version scheduled after it would be undone.
            raise Conflict(
                f"{config} has version {newest_number} scheduled for "
                f"{newest.effective_at:%Y-%m-%d %H:%M %Z}, after the live version {live.number} "
                "this file was exported at. Cancel the scheduled version or wait until it takes "
                f'effect, then export again; or remove "version" from the file to propose it on '
                f"version {newest_number}."
            )
        if file.version is not None and file.version != newest_number:
            # Proposing on the newest version would quietly undo what changed since the export.
            raise Conflict(
                f"the file was exported at version {file.version}, but {config} is now at "
                f"version {newest_number}. Export again and redo the change, or remove "
                f'"version" from the file to propose it on version {newest_number}.'
            )
        publishing = self.publish or self.bypass_reason is not None
        if not publishing:
            pending = (
                config.change_requests.filter(
                    status__in=ChangeRequest.OPEN, value_hash=value_hash(file.value)
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
            title=self.title,
            description=f"Imported from {file.path} with manage.py import_configs.",
            base_version=newest_number,
        )
        if self.bypass_reason is not None:
            version = reviews.change_request_publish(
                change_request=change_request, actor=self.actor, bypass_reason=self.bypass_reason
            )
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

    # --- output ----------------------------------------------------------------------------

    def _would(self, done: str) -> str:
        return f"would be {done}" if self.report.dry_run else done

    @staticmethod
    def _url(change_request: ChangeRequest) -> str:
        return settings.CONSOLE_BASE_URL.rstrip("/") + change_request.get_absolute_url()

    @staticmethod
    def _failure(errors: list[str]) -> str:
        count = len(errors)
        return (
            f"{count} file{'s' if count != 1 else ''} could not be imported, so nothing was "
            "imported:\n  " + "\n  ".join(sorted(errors))
        )

    def _print_summary(self, folder_path: Path) -> None:
        report = self.report
        heading = "Dry run of the import" if report.dry_run else "Imported"
        self.stdout.write(f"{heading} from {folder_path} as {self.actor.get_username()}:")
        for line in report.lines:
            self.stdout.write(f"  {line}")
        if report.notes:
            self.stdout.write("Not imported (change these in the console):")
            for note in report.notes:
                self.stdout.write(f"  {note}")
        summary = (
            f"{report.count('created')} created, {report.count('proposed')} proposed for "
            f"review, {report.count('already_proposed')} already in review, "
            f"{report.count('published')} published, {report.count('unchanged')} unchanged, "
            f"{report.count('details_changed')} with details changed; "
            f"schemas: {report.count('schema_created')} created, "
            f"{report.count('schema_changed')} changed, "
            f"{report.count('schema_unchanged')} unchanged."
        )
        if report.dry_run:
            self.stdout.write(f"Would do: {summary} Nothing was saved (dry run).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {summary}"))
