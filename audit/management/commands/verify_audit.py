"""`manage.py verify_audit`: check the audit log's hash chain, naming the first broken event and
every event that was never sealed into it."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from audit.chain import SEAL_GRACE, seal_pending_events, unsealed_events, verify_chain
from audit.models import AuditEvent

# Enough to act on; the rest are counted.
LISTED = 20


def describe(event: AuditEvent) -> str:
    return f"event {event.pk} ({event.at.isoformat()}, {event.action})"


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain and name the first event that was changed or removed, "
        "and any event that was never sealed into the chain. Only reads, unless --seal-pending."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help=(
                "A head this command printed before, kept outside the database. The chain must "
                "still hold it: if the newest events were cut off (or the log rewritten), it "
                "does not, and the command fails."
            ),
        )
        parser.add_argument(
            "--seal-pending",
            action="store_true",
            help=(
                "Seal the events this command reported as never sealed into the chain. Run it "
                "only once you have checked they are genuine (their process stopped between "
                "commit and seal), not rows written into the table by hand."
            ),
        )

    def handle(self, *args, **options):
        if options["seal_pending"]:
            sealed = seal_pending_events(ids=unsealed_events().values_list("id", flat=True))
            for event in sealed:
                self.stdout.write(f"Sealed {describe(event)} at chain position {event.seq}.")
            self.stdout.write(f"Sealed {len(sealed)} event(s) that were waiting to be chained.")
        verdict = verify_chain()
        if verdict.broken is not None:
            event = verdict.broken
            raise CommandError(
                f"Audit log broken at event {event.pk} ({event.at.isoformat()}, {event.action}, "
                f"chain position {event.seq}): {verdict.problem}. "
                f"The {verdict.checked} event(s) before it check out."
            )
        if options["expect_head"]:
            self._check_kept_head(options["expect_head"].strip().lower(), verdict)
        unsealed = unsealed_events()
        if unsealed.exists():
            raise CommandError(self._unsealed_problem(unsealed, verdict.checked))
        in_flight = AuditEvent.objects.filter(seq__isnull=True).count()
        if in_flight:
            self.stdout.write(
                f"{in_flight} event(s) recorded in the last minute are not sealed yet and were "
                "not checked."
            )
        self.stdout.write(
            self.style.SUCCESS(f"OK: {verdict.checked} audit events, chain intact.")
            + f" Head: {verdict.head or '(empty)'}"
        )

    def _check_kept_head(self, kept: str, verdict) -> None:
        """The kept head must be an event of the (intact) chain; events after it are new."""
        event = AuditEvent.objects.filter(seq__isnull=False, hash=kept).first() if kept else None
        if event is None:
            raise CommandError(
                f"The kept head {kept or '(empty)'} is not in the audit log's chain, which now "
                f"ends at position {verdict.checked} with {verdict.head or '(nothing)'}: events "
                "were cut off the end of the log (or it was replaced) since that head was kept."
            )
        newer = verdict.checked - event.seq
        self.stdout.write(
            f"The kept head is {describe(event)} at chain position {event.seq}; "
            f"{newer} event(s) were sealed after it."
        )

    def _unsealed_problem(self, unsealed: QuerySet[AuditEvent], checked: int) -> str:
        total = unsealed.count()
        lines = [
            f"{total} audit event(s) were never sealed into the chain, so nothing vouches for "
            f"them (the {checked} sealed event(s) check out). Either their process stopped "
            "between commit and seal, or they were written into the table behind the "
            "application's back:",
            *(f"  {describe(event)}" for event in unsealed[:LISTED]),
        ]
        if total > LISTED:
            lines.append(f"  … and {total - LISTED} more.")
        grace = int(SEAL_GRACE.total_seconds())
        lines.append(
            "Check them; only if they are genuine, chain them with "
            f"`manage.py verify_audit --seal-pending` (events younger than {grace} seconds are "
            "left to their own seal)."
        )
        return "\n".join(lines)
