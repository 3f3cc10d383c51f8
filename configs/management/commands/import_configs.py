"""`manage.py import_configs DIR --user U`: propose the values of an export folder for review.

The import itself is `reviews.imports.folder_import`; this command reads its arguments and
prints the report.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.messages import in_words
from configs import transfer
from reviews.imports import ImportReport, folder_import


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
            report = folder_import(
                folder=folder_path,
                actor=actor,
                title=title,
                namespaces=namespaces,
                publish=publish,
                bypass_reason=bypass_reason,
                dry_run=opts["dry_run"],
            )
        except (transfer.TransferError, ValidationError) as exc:
            raise CommandError(in_words(exc)) from exc
        if report.errors:
            raise CommandError(self._failure(report.errors))
        self._print_summary(folder_path, actor, report)

    @staticmethod
    def _failure(errors: list[str]) -> str:
        count = len(errors)
        return (
            f"{count} file{'s' if count != 1 else ''} could not be imported, so nothing was "
            "imported:\n  " + "\n  ".join(sorted(errors))
        )

    def _print_summary(self, folder_path: Path, actor, report: ImportReport) -> None:
        heading = "Dry run of the import" if report.dry_run else "Imported"
        self.stdout.write(f"{heading} from {folder_path} as {actor.get_username()}:")
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
