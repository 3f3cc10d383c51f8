"""The hash chain: events are sealed once committed, and `manage.py verify_audit` names the first
event that was changed or removed by hand, and every event that was never sealed."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.chain import seal_pending_events
from audit.models import AuditEvent
from audit.services import record
from configs.models import Namespace

pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def by_hand(sql, params=()):
    """Change the table as someone with database access could, past the append-only triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key check (the test never commits).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def waiting_ids():
    return list(AuditEvent.objects.filter(seq__isnull=True).values_list("id", flat=True))


@pytest.fixture
def sealed_log(demo, django_capture_on_commit_callbacks):
    """The demo's events plus three more, all sealed."""
    # Inside a test nothing commits, so the demo's events were never sealed: seal them as
    # their commits would have.
    seal_pending_events(ids=waiting_ids())
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            record("namespace.created", actor=None, target=Namespace.objects.first(), reason=f"{n}")
    return list(AuditEvent.objects.order_by("seq"))


def forge(at, **fields):
    """An event written straight into the table, as someone with database access could."""
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=at,
                actor_name=fields.pop("actor_name", "carol"),
                action=fields.pop("action", "version.bypass"),
                namespace="sales-ops",
                target_type="configs.version",
                target_id="1",
                **fields,
            )
        ]
    )[0]


def test_an_event_is_sealed_once_its_transaction_commits(
    sealed_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = record("namespace.created", actor=None, target=Namespace.objects.first())
        assert AuditEvent.objects.get(pk=event.pk).hash == ""

    event = AuditEvent.objects.get(pk=event.pk)
    assert len(event.hash) == 64
    assert event.seq == sealed_log[-1].seq + 1
    assert event.prev_hash == sealed_log[-1].hash


def test_a_commit_seals_only_the_events_it_recorded(demo, django_capture_on_commit_callbacks):
    forged = forge(timezone.now() - timedelta(days=3))
    waiting = set(waiting_ids())

    with django_capture_on_commit_callbacks(execute=True):
        event = record("namespace.created", actor=None, target=Namespace.objects.first())

    assert AuditEvent.objects.get(pk=event.pk).seq == 1
    assert set(waiting_ids()) == waiting
    assert forged.pk in waiting


def test_sealing_by_ids_leaves_other_events_waiting_and_chains_in_id_order(demo):
    first, second, third = sorted(waiting_ids())[:3]

    sealed = seal_pending_events(ids=[third, first])

    assert [(event.pk, event.seq) for event in sealed] == [(first, 1), (third, 2)]
    assert AuditEvent.objects.get(pk=second).seq is None
    assert seal_pending_events(ids=[first]) == []  # already sealed: left as it is


def test_verify_audit_says_ok_with_the_number_of_events(sealed_log):
    output = verify()

    assert f"OK: {len(sealed_log)} audit events" in output
    assert sealed_log[-1].hash in output


def test_verify_audit_only_reads_and_leaves_events_just_recorded_to_their_own_seal(demo):
    waiting = len(waiting_ids())
    assert waiting > 0

    output = verify()

    assert f"{waiting} event(s) recorded in the last minute are not sealed yet" in output
    assert "OK: 0 audit events" in output
    assert len(waiting_ids()) == waiting


def test_a_forged_backdated_event_is_named_by_verify_audit_not_sealed(sealed_log):
    forged = forge(timezone.now() - timedelta(days=3), reason="Approved by phone")

    with pytest.raises(CommandError) as error:
        verify()

    message = str(error.value)
    assert "1 audit event(s) were never sealed into the chain" in message
    assert f"event {forged.pk} ({forged.at.isoformat()}, version.bypass)" in message
    assert "--seal-pending" in message
    assert AuditEvent.objects.get(pk=forged.pk).seq is None


def test_an_event_dated_in_the_future_is_named_too(sealed_log):
    forged = forge(timezone.now() + timedelta(days=30))

    with pytest.raises(CommandError, match=f"event {forged.pk} "):
        verify()


def test_seal_pending_chains_events_whose_process_stopped_before_sealing_them(
    sealed_log, django_capture_on_commit_callbacks
):
    # The transaction committed, but the process died before its seal ran.
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        with django_capture_on_commit_callbacks(execute=False):
            lost = [
                record("namespace.created", actor=None, target=Namespace.objects.first())
                for _ in range(2)
            ]
    with pytest.raises(CommandError, match=f"event {lost[0].pk} "):
        verify()

    output = verify("--seal-pending")

    for position, event in enumerate(lost, start=len(sealed_log) + 1):
        assert (
            f"Sealed event {event.pk} ({event.at.isoformat()}, namespace.created) "
            f"at chain position {position}." in output
        )
    assert f"OK: {len(sealed_log) + 2} audit events, chain intact." in output
    assert "OK:" in verify()


def test_seal_pending_leaves_events_just_recorded_to_their_own_seal(
    sealed_log, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        event = record("namespace.created", actor=None, target=Namespace.objects.first())

    output = verify("--seal-pending")

    assert "Sealed 0 event(s)" in output
    assert AuditEvent.objects.get(pk=event.pk).seq is None


def test_a_changed_event_is_named_by_verify_audit(sealed_log):
    changed = sealed_log[len(sealed_log) // 2]
    by_hand("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing", changed.pk])

    with pytest.raises(CommandError) as error:
        verify()

    message = str(error.value)
    assert f"event {changed.pk} ({changed.at.isoformat()}, {changed.action}" in message
    assert "changed after it was sealed" in message


def test_a_changed_detail_is_caught_whatever_the_key_order(sealed_log):
    changed = sealed_log[-1]
    by_hand(
        "UPDATE audit_auditevent SET details = %s WHERE id = %s",
        ['{"b": 1, "a": 2}', changed.pk],
    )

    with pytest.raises(CommandError, match=f"event {changed.pk} "):
        verify()


def test_a_removed_event_is_caught_at_the_event_after_it(sealed_log):
    removed, after = sealed_log[2], sealed_log[3]
    by_hand("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])

    with pytest.raises(CommandError) as error:
        verify()

    assert f"event {after.pk} " in str(error.value)
    assert "an event was removed or reordered" in str(error.value)


def test_a_rewritten_hash_is_caught(sealed_log):
    forged = sealed_log[1]
    by_hand("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["0" * 64, forged.pk])

    with pytest.raises(CommandError, match=f"event {forged.pk} "):
        verify()


def test_newest_events_cut_off_the_end_pass_a_plain_check_but_not_the_kept_head(sealed_log):
    kept = sealed_log[-1].hash
    by_hand("DELETE FROM audit_auditevent WHERE id = %s", [sealed_log[-1].pk])

    assert "chain intact" in verify()  # the shortened chain is still a valid chain
    with pytest.raises(CommandError) as error:
        verify("--expect-head", kept)

    message = str(error.value)
    assert f"The kept head {kept} is not in the audit log's chain" in message
    assert f"position {len(sealed_log) - 1} with {sealed_log[-2].hash}" in message
    assert "cut off the end" in message


def test_a_kept_head_with_newer_events_after_it_checks_out(
    sealed_log, django_capture_on_commit_callbacks
):
    kept = sealed_log[-3]
    with django_capture_on_commit_callbacks(execute=True):
        record("namespace.created", actor=None, target=Namespace.objects.first(), reason="later")

    output = verify("--expect-head", kept.hash.upper())

    assert f"The kept head is event {kept.pk} " in output
    assert "3 event(s) were sealed after it" in output
    assert "chain intact" in output


def test_the_printed_head_is_the_one_to_keep(sealed_log):
    output = verify()

    assert f"Head: {sealed_log[-1].hash}" in output
    assert "0 event(s) were sealed after it" in verify("--expect-head", sealed_log[-1].hash)
