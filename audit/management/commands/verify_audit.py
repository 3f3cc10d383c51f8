"""`manage.py verify_audit`: check the audit log's hash chain, naming the first broken event."""

from django.core.management.base import BaseCommand, CommandError

from audit.chain import seal_pending_events, verify_chain
from audit.models import AuditEvent


class Command(BaseCommand):
    help = "Walk the audit log's hash chain and name the first event that was changed or removed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="Do not first seal events committed but not sealed yet (only read).",
        )

    def handle(self, *args, **options):
        if not options["no_seal"]:
            # Committed events whose process stopped before sealing them belong in the chain.
            sealed = seal_pending_events()
            if sealed:
                self.stdout.write(f"Sealed {sealed} event(s) that were waiting to be chained.")
        else:
            waiting = AuditEvent.objects.filter(seq__isnull=True).count()
            if waiting:
                self.stdout.write(f"{waiting} event(s) are not sealed yet and were not checked.")
        verdict = verify_chain()
        if verdict.broken is not None:
            event = verdict.broken
            raise CommandError(
                f"Audit log broken at event {event.pk} ({event.at.isoformat()}, {event.action}, "
                f"chain position {event.seq}): {verdict.problem}. "
                f"The {verdict.checked} event(s) before it check out."
            )
        self.stdout.write(
            self.style.SUCCESS(f"OK: {verdict.checked} audit events, chain intact.")
            + f" Head: {verdict.head or '(empty)'}"
        )
