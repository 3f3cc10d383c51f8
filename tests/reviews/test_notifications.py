"""Who is emailed about a change request, and that mail goes out only after the change commits."""

import pytest
from django.db import transaction

from common.errors import Conflict
from configs.selectors import newest_version as newest
from reviews import services
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


def propose(config, author, company_id):
    return services.change_request_open(
        config=config,
        author=author,
        value=with_company(config, company_id),
        title=f"Add {company_id}",
        base_version=newest(config).number,
    )


def recipients(mailoutbox):
    return [sorted(message.to) for message in mailoutbox]


def test_reviewers_are_emailed_when_review_is_requested(
    timezones, alice, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        cr = propose(timezones, alice, "hooli")

    assert recipients(mailoutbox) == [["bob@example.com", "carol@example.com"]]
    message = mailoutbox[0]
    assert message.subject == (
        "[Config Console] Review requested: data-pipelines/company-timezones — Add hooli"
    )
    assert cr.get_absolute_url() in message.body


def test_author_is_emailed_on_approval(
    timezones, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_approve(change_request=cr, reviewer=bob, comment="Checked")

    assert recipients(mailoutbox) == [["alice@example.com"]]
    assert mailoutbox[0].subject == (
        "[Config Console] bob approved your change to data-pipelines/company-timezones"
    )
    assert "Checked" in mailoutbox[0].body


def test_author_is_emailed_when_changes_are_requested(
    timezones, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_request_changes(
            change_request=cr, reviewer=bob, comment="Hooli reports in Berlin time"
        )

    assert recipients(mailoutbox) == [["alice@example.com"]]
    assert "bob requested changes" in mailoutbox[0].subject
    assert "Hooli reports in Berlin time" in mailoutbox[0].body


def test_author_is_emailed_on_publish(
    timezones, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")
    services.change_request_approve(change_request=cr, reviewer=bob)

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_publish(change_request=cr, actor=bob)

    assert recipients(mailoutbox) == [["alice@example.com"]]
    assert mailoutbox[0].subject == (
        "[Config Console] Published: data-pipelines/company-timezones version 2"
    )
    assert "published by bob as version 2" in mailoutbox[0].body


def test_author_is_emailed_when_their_change_becomes_conflicted(
    timezones, alice, bob, carol, django_capture_on_commit_callbacks, mailoutbox
):
    first = propose(timezones, carol, "hooli")
    second = propose(timezones, alice, "pied-piper")
    services.change_request_approve(change_request=first, reviewer=bob)

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_publish(change_request=first, actor=bob)

    to_alice = [m for m in mailoutbox if m.to == ["alice@example.com"]]
    assert [m.subject for m in to_alice] == [
        "[Config Console] Your change to data-pipelines/company-timezones needs a rebase"
    ]
    assert second.get_absolute_url() in to_alice[0].body
    assert recipients(mailoutbox) == [["alice@example.com"], ["carol@example.com"]]


def test_author_is_emailed_when_their_own_publish_hits_a_conflict(
    timezones, alice, bob, carol, django_capture_on_commit_callbacks, mailoutbox
):
    from configs.services import version_publish

    cr = propose(timezones, alice, "hooli")
    services.change_request_approve(change_request=cr, reviewer=bob)
    with transaction.atomic():
        version_publish(
            config=timezones, value=with_company(timezones, "x1"), base_number=1, actor=carol
        )

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Conflict):
            services.change_request_publish(change_request=cr, actor=bob)

    assert recipients(mailoutbox) == [["alice@example.com"]]
    assert "needs a rebase" in mailoutbox[0].subject


def test_owners_are_emailed_on_bypass(
    timezones, alice, carol, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_publish(
            change_request=cr, actor=carol, bypass_reason="Hooli's dashboards are wrong"
        )

    bypass = [m for m in mailoutbox if "BYPASS" in m.subject]
    assert len(bypass) == 1
    assert bypass[0].to == ["bob@example.com"]  # bob owns company-timezones
    assert bypass[0].subject == (
        "[Config Console] BYPASS: data-pipelines/company-timezones version 2 published "
        "without review"
    )
    assert "Reason given: Hooli's dashboards are wrong" in bypass[0].body
    assert recipients(mailoutbox) == [["alice@example.com"], ["bob@example.com"]]


def test_no_bypass_mail_for_a_reviewed_publish(
    timezones, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")
    services.change_request_approve(change_request=cr, reviewer=bob)

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_publish(change_request=cr, actor=bob)

    assert not [m for m in mailoutbox if "BYPASS" in m.subject]


def test_nothing_is_sent_if_the_transaction_rolls_back(
    timezones, alice, bob, django_capture_on_commit_callbacks, mailoutbox
):
    cr = propose(timezones, alice, "hooli")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Rollback):
            with transaction.atomic():
                propose(timezones, alice, "pied-piper")
                services.change_request_approve(change_request=cr, reviewer=bob)
                services.change_request_publish(change_request=cr, actor=bob)
                raise Rollback

    assert callbacks == []
    assert mailoutbox == []
    assert newest(timezones).number == 1


def test_a_mail_server_that_is_down_does_not_fail_the_change(
    client, alice, timezones, settings, django_capture_on_commit_callbacks, caplog
):
    # Nothing listens on port 9 here: every send fails with "connection refused".
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    _token, secret = make_token(alice, "data-pipelines", write=True)
    value = with_company(timezones, "hooli")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(secret).post(
            "/api/v1/configs/data-pipelines/company-timezones/change-requests/",
            {"value": value, "base_version": 1, "title": "Same again"},
        )

    assert response.status_code == 201
    assert "Could not send" in caplog.text
