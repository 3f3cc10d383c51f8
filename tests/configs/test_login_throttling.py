"""Sign-in throttling: wrong passwords lock a username (and an address) out for a while, with a
clear page, an audit event, and a command to lift it."""

from collections import Counter

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

from audit.models import AuditEvent, SignInLock

LOGIN = "/accounts/login/"


def sign_in(client, username, password, address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_fifty_wrong_passwords_then_the_right_one_is_still_refused(client, demo):
    answers = [sign_in(client, "alice", f"guess-{i}").status_code for i in range(50)]

    right = sign_in(client, "alice", demo["alice"])

    assert answers[:4] == [200] * 4  # the sign-in page with "didn't match"
    assert set(answers[5:]) == {429}
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_out_page_says_what_happened_and_for_how_long(client, demo):
    for i in range(5):
        response = sign_in(client, "alice", f"guess-{i}")

    page = response.content.decode()
    assert response.status_code == 429
    assert "Sign-in is locked for a while" in page
    assert "<strong>alice</strong>" in page
    assert "0:15:00" in page


def test_one_address_trying_many_usernames_is_locked_out(client, demo):
    for name in ["alice", "bob", "carol", "dave", "erin"]:
        sign_in(client, name, "guess", address="203.0.113.9")

    assert sign_in(client, "bob", demo["bob"], address="203.0.113.9").status_code == 429
    assert sign_in(client, "bob", demo["bob"], address="192.0.2.1").status_code == 302


def test_the_lock_out_is_audited(client, demo, alice):
    for i in range(5):
        sign_in(client, "alice", f"guess-{i}")

    event = AuditEvent.objects.get(action="auth.locked_out")
    assert event.target_id == str(alice.pk)
    assert event.details == {"username": "alice", "ip": "198.51.100.7"}
    assert not any("guess" in str(e.details) for e in AuditEvent.objects.all())


def test_fifty_wrong_passwords_write_a_bounded_number_of_audit_events(client, demo, caplog):
    for i in range(50):
        sign_in(client, "alice", f"guess-{i}")

    actions = AuditEvent.objects.filter(action__startswith="auth.").values_list("action")
    # 5 wrong passwords, the lock they start, then the 45 refused attempts as two counts.
    assert Counter(action for (action,) in actions) == {
        "auth.login_failed": 5,
        "auth.locked_out": 1,
        "auth.refused_while_locked": 2,
    }
    counts = AuditEvent.objects.filter(action="auth.refused_while_locked").order_by("id")
    assert [event.details["refused"] for event in counts] == [1, 10]
    assert SignInLock.objects.get(username="alice").refused == 45
    assert "10 attempt(s) refused since" in caplog.text


def test_guesses_from_one_address_at_ever_new_usernames_stay_bounded(client, demo):
    for i in range(150):
        sign_in(client, f"user{i}", "guess", address="203.0.113.9")

    actions = AuditEvent.objects.filter(action__startswith="auth.").values_list("action")
    assert Counter(action for (action,) in actions) == {
        "auth.login_failed": 5,
        "auth.locked_out": 1,
        "auth.refused_while_locked": 3,  # the 1st, 10th and 100th
    }
    assert SignInLock.objects.get().refused == 145


def test_an_administrator_lifts_the_lock_with_axes_reset_username(client, demo):
    for i in range(5):
        sign_in(client, "alice", f"guess-{i}")
    assert AccessAttempt.objects.filter(username="alice").exists()

    call_command("axes_reset_username", "alice")
    call_command("axes_reset_ip", "198.51.100.7")

    assert sign_in(client, "alice", demo["alice"]).status_code == 302


@pytest.mark.parametrize("failures", [1, 4])
def test_a_right_password_before_the_limit_signs_in_and_forgets_the_failures(
    client, demo, failures
):
    for i in range(failures):
        sign_in(client, "alice", f"guess-{i}")

    assert sign_in(client, "alice", demo["alice"]).status_code == 302
    assert not AccessAttempt.objects.filter(username="alice", failures_since_start__gt=0).exists()
