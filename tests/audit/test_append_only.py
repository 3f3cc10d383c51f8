"""On PostgreSQL the database itself keeps the audit log append-only, and concurrent writers
never fork its chain.

Like the races in tests/reviews/test_races.py these need PostgreSQL (its triggers, locks and
concurrent writers); on SQLite they are reported as skipped.
"""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.chain import event_hash, seal_pending_events, verify_chain
from audit.models import AuditEvent
from audit.services import record
from configs.models import Namespace

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only triggers exist on PostgreSQL only (run with DATABASE_URL=postgres://…)",
)

REFUSED = "The audit log is append-only"


def refused(sql, params=()):
    """Run `sql` in a savepoint and return the database's refusal message."""
    with pytest.raises(DatabaseError) as error, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(error.value)


def seal_everything():
    """Seal the demo's events, as their commits would have (inside a test nothing commits)."""
    seal_pending_events(ids=AuditEvent.objects.values_list("id", flat=True))


@pytest.fixture
def event(demo):
    event = AuditEvent.objects.order_by("id").first()
    seal_everything()
    return event


@pytest.mark.django_db
def test_orm_update_of_an_event_is_refused(event):
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="tidied up")

    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


@pytest.mark.django_db
def test_orm_delete_of_events_is_refused(event):
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_a_sealed_event_cannot_be_sealed_again(event):
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(hash="0" * 64)


@pytest.mark.django_db
def test_sealing_cannot_change_what_the_event_says(demo):
    waiting = AuditEvent.objects.filter(seq__isnull=True).first()

    message = refused(
        "UPDATE audit_auditevent SET seq = 999, hash = 'x', reason = 'other' WHERE id = %s",
        [waiting.pk],
    )

    assert REFUSED in message


@pytest.fixture
def waiting(event):
    """An event recorded after the sealed ones, not sealed yet."""
    return record("namespace.created", actor=None, target=Namespace.objects.first())


def chain_head():
    """The chain's head: its position and hash, which the next seal must follow."""
    sealed = AuditEvent.objects.filter(seq__isnull=False)
    return sealed.order_by("-seq").values_list("seq", "hash")[0]


A_HASH = "a" * 64

# (seq, prev_hash, hash) for an unsealed event, given the chain's head position and hash.
BOGUS_SEALS = {
    "the update that once went through": lambda head, head_hash: (999999, "", "garbage"),
    "a place far past the chain's end": lambda head, head_hash: (head + 5, head_hash, A_HASH),
    "a place already taken": lambda head, head_hash: (head, head_hash, A_HASH),
    "not a hash": lambda head, head_hash: (head + 1, head_hash, "garbage"),
    "not a hash as sealing writes it": lambda head, head_hash: (head + 1, head_hash, "A" * 64),
    "after another event": lambda head, head_hash: (head + 1, "0" * 64, A_HASH),
    "after no event": lambda head, head_hash: (head + 1, "", A_HASH),
}


@pytest.mark.django_db
@pytest.mark.parametrize("bogus", BOGUS_SEALS.values(), ids=BOGUS_SEALS.keys())
def test_an_unsealed_event_cannot_be_given_a_place_in_the_chain_that_does_not_follow_it(
    waiting, bogus
):
    head, head_hash = chain_head()

    message = refused(
        "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
        [*bogus(head, head_hash), waiting.pk],
    )

    assert REFUSED in message
    assert AuditEvent.objects.get(pk=waiting.pk).seq is None
    assert [event.pk for event in seal_pending_events(ids=[waiting.pk])] == [waiting.pk]
    assert AuditEvent.objects.get(pk=waiting.pk).seq == head + 1
    verdict = verify_chain()
    assert verdict.broken is None, verdict.problem
    assert verdict.checked == AuditEvent.objects.count()


@pytest.mark.django_db
def test_the_first_event_sealed_follows_nothing(demo):
    first = AuditEvent.objects.order_by("id").first()

    message = refused(
        "UPDATE audit_auditevent SET seq = 1, prev_hash = %s, hash = %s WHERE id = %s",
        ["0" * 64, A_HASH, first.pk],
    )

    assert REFUSED in message
    assert seal_pending_events(ids=[first.pk])[0].seq == 1
    assert verify_chain().broken is None


@pytest.mark.django_db
def test_the_sealing_update_written_by_hand_as_sealing_writes_it_is_allowed(waiting):
    head, head_hash = chain_head()
    waiting.seq = head + 1

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [head + 1, head_hash, event_hash(waiting, head_hash), waiting.pk],
        )

    assert verify_chain().broken is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor_name = 'nobody'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_raw_update_and_delete_are_refused(event, sql):
    message = refused(sql)

    assert f"{REFUSED}: {sql.split()[0]} on audit_auditevent is refused." in message


@pytest.mark.django_db
def test_raw_truncate_is_refused_even_when_a_session_asks_for_the_exemption(event):
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        # The test database is marked disposable (tests/conftest.py); undo that inside this
        # test's transaction, which is rolled back afterwards. A session-level SET is not enough.
        cursor.execute(f"ALTER DATABASE {name} RESET configconsole.allow_audit_truncate")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check left in the way
        cursor.execute("SET LOCAL configconsole.allow_audit_truncate = 'on'")

    # CASCADE: the events' reach rows point at them, so a plain TRUNCATE stops at that first.
    message = refused("TRUNCATE audit_auditevent CASCADE")

    assert f"{REFUSED}: TRUNCATE on audit_auditevent is refused." in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db
def test_an_event_edited_with_the_trigger_disabled_is_named_by_verify_audit(event):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(
            "UPDATE audit_auditevent SET actor_name = 'someone-else' WHERE id = %s", [event.pk]
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")

    with pytest.raises(Exception) as error:
        call_command("verify_audit", stdout=StringIO())

    assert f"event {event.pk} ({event.at.isoformat()}, {event.action}" in str(error.value)


@pytest.mark.django_db(transaction=True)
def test_events_recorded_at_once_by_many_servers_form_one_unbroken_chain(demo):
    namespace = Namespace.objects.first()
    writers, rounds = 6, 10
    barrier = threading.Barrier(writers)
    errors = []

    def write():
        try:
            barrier.wait(timeout=10)
            for n in range(rounds):
                with transaction.atomic():
                    record("namespace.created", actor=None, target=namespace, reason=str(n))
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    verdict = verify_chain()
    assert verdict.broken is None, verdict.problem
    assert verdict.checked == AuditEvent.objects.count()
