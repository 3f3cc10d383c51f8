"""The hash chain: events are sealed once committed, and `manage.py verify_audit` names the first
event that was changed or removed by hand."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

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


@pytest.fixture
def sealed_log(demo, django_capture_on_commit_callbacks):
    """The demo's events plus three more, all sealed."""
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            record("namespace.created", actor=None, target=Namespace.objects.first(), reason=f"{n}")
    seal_pending_events()
    return list(AuditEvent.objects.order_by("seq"))


def test_an_event_is_sealed_once_its_transaction_commits(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = record("namespace.created", actor=None, target=Namespace.objects.first())
        assert AuditEvent.objects.get(pk=event.pk).hash == ""

    event = AuditEvent.objects.get(pk=event.pk)
    assert len(event.hash) == 64
    previous = AuditEvent.objects.get(seq=event.seq - 1)
    assert event.prev_hash == previous.hash


def test_verify_audit_says_ok_with_the_number_of_events(sealed_log):
    output = verify()

    assert f"OK: {len(sealed_log)} audit events" in output
    assert sealed_log[-1].hash in output


def test_verify_audit_seals_events_that_were_committed_but_not_sealed(demo):
    # Inside a test the transaction never commits, so the demo's events are still waiting.
    waiting = AuditEvent.objects.filter(seq__isnull=True).count()
    assert waiting > 0

    output = verify()

    assert f"Sealed {waiting} event(s)" in output
    assert f"OK: {waiting} audit events" in output


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
