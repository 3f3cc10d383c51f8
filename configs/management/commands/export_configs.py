"""`manage.py export_configs DIR`: schemas, configs and live values as a folder of JSON files."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.messages import in_words
from configs import transfer


class Command(BaseCommand):
    help = (
        "Write the namespaces, schemas and live config values to DIR, one JSON file each "
        "(DIR/namespaces/<slug>.json, DIR/schemas/<name>.json, "
        "DIR/configs/<namespace>/<key>.json), with sorted keys and a trailing newline, so the "
        "folder can be kept in git and exporting twice gives identical bytes. Existing files "
        "are overwritten; none are deleted. See docs/export-import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="Folder to write (created if new).")
        parser.add_argument(
            "--namespace",
            action="append",
            dest="namespaces",
            metavar="NS",
            help="Export only this namespace and the schemas its configs use (repeatable).",
        )

    def handle(self, *args, directory, namespaces, **options):
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise CommandError(f"{target} exists and is not a folder.")
        try:
            result = transfer.export(target, namespaces=namespaces)
        except transfer.TransferError as exc:
            raise CommandError(in_words(exc)) from exc
        for note in result.skipped:
            self.stderr.write(f"Skipped: {note}.")
        counts = {
            kind: sum(1 for path in result.written if path.relative_to(target).parts[0] == kind)
            for kind in (transfer.NAMESPACES_DIR, transfer.SCHEMAS_DIR, transfer.CONFIGS_DIR)
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {counts[transfer.NAMESPACES_DIR]} namespaces, "
                f"{counts[transfer.SCHEMAS_DIR]} schemas and "
                f"{counts[transfer.CONFIGS_DIR]} configs to {target}."
            )
        )
