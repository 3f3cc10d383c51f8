"""Emails about change requests. Called from `transaction.on_commit` only: a rolled-back change
never sends mail."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Count, QuerySet

from configs.models import Membership, Role
from reviews.gate import touched
from reviews.models import Change, ChangeRequest, Review

logger = logging.getLogger(__name__)


def _link(change_request: ChangeRequest) -> str:
    return settings.CONSOLE_BASE_URL.rstrip("/") + change_request.get_absolute_url()


def _send(subject: str, body: str, users) -> None:
    recipients = sorted({u.email for u in users if u.email})
    if not recipients:
        return
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except Exception:
        # The change is committed; a mail server that is down must not turn the answer into an
        # error (a client would retry and propose twice). Logged, with the traceback.
        logger.exception("Could not send %r to %s", subject, ", ".join(recipients))


def _load(pk: int) -> ChangeRequest:
    return ChangeRequest.objects.select_related("author").get(pk=pk)


def _what(cr: ChangeRequest) -> str:
    """What the change request changes, in a subject line: a schema, one config (with
    "@environment" outside the default one), or how many."""
    if cr.schema_change is not None:
        return f"schema {cr.schema_change.schema.name}"
    if cr.is_single:
        return cr.change.label
    return f"{len(cr.change_list)} configs"


def _in_every(namespaces, roles) -> QuerySet:
    """Active people holding one of `roles` in every one of `namespaces` (in one query);
    none given (a schema nobody uses), admins anywhere."""
    people = get_user_model().objects.filter(is_active=True)
    if not namespaces:
        return people.filter(memberships__role=Role.ADMIN).distinct()
    return (
        people.filter(memberships__namespace__in=namespaces, memberships__role__in=roles)
        .annotate(holding=Count("memberships", distinct=True))
        .filter(holding=len(namespaces))
    )


def review_requested(pk: int) -> None:
    """People who review in every namespace the set touches (not the author) are asked to
    review: only their approvals count."""
    cr = _load(pk)
    reviewers = _in_every(touched(cr).namespaces, [Role.REVIEWER, Role.ADMIN]).exclude(
        pk=cr.author_id
    )
    if cr.schema_change is not None:
        what = f"schema {cr.schema_change.schema.name} and the values it changes"
    else:
        what = ", ".join(change.label for change in cr.change_list)
    _send(
        f"[Config Console] Review requested: {_what(cr)} — {cr.title}",
        f"{cr.author} asks for your review of a change to {what}:\n\n  {cr.title}\n\n{_link(cr)}\n",
        reviewers,
    )


def reviewed(pk: int, review_pk: int) -> None:
    """The author hears of each approval or request for changes."""
    cr = _load(pk)
    review = Review.objects.select_related("reviewer").get(pk=review_pk)
    verdict = review.get_verdict_display().lower()
    comment = f"\n\nTheir comment: {review.comment}" if review.comment else ""
    _send(
        f"[Config Console] {review.reviewer} {verdict} your change to {_what(cr)}",
        f'{review.reviewer} {verdict} "{cr.title}".{comment}\n\n{_link(cr)}\n',
        [cr.author],
    )


def rejected(pk: int) -> None:
    cr = _load(pk)
    _send(
        f"[Config Console] Your change to {_what(cr)} was rejected",
        f'"{cr.title}" was rejected.\n\n{_link(cr)}\n',
        [cr.author],
    )


def conflicted(pk: int) -> None:
    cr = _load(pk)
    _send(
        f"[Config Console] Your change to {_what(cr)} needs a rebase",
        f'{_what(cr)} changed since "{cr.title}" was proposed. Open it to see what moved '
        f"and rebase:\n\n{_link(cr)}\n",
        [cr.author],
    )


def published(pk: int) -> None:
    """The author hears that their change is published; owners (or else the namespace's
    admins) hear of every bypass."""
    cr = _load(pk)
    schema_change = cr.schema_change
    if schema_change is not None:
        _schema_change_published(cr, schema_change)
        return
    version = cr.published_version
    assert version is not None
    when = f"takes effect at {version.effective_at:%Y-%m-%d %H:%M %Z}"
    if cr.is_single:
        subject = f"Published: {cr.change.label} version {version.number}"
        what = f"as version {version.number}"
    else:
        subject = f"Published: {_what(cr)}"
        what = "as " + ", ".join(
            f"{c.label} version {c.published_version.number}"
            for c in cr.change_list
            if c.published_version
        )
    _send(
        f"[Config Console] {subject}",
        f'"{cr.title}" was published by {version.published_by} {what}; it {when}.\n\n{_link(cr)}\n',
        [cr.author],
    )
    if not version.bypass_reason:
        return
    for change in cr.change_list:
        config, version = change.config, change.published_version
        assert version is not None
        owners = list(config.owners.all())
        admins = [
            m.user
            for m in Membership.objects.filter(
                namespace=config.namespace, role=Role.ADMIN
            ).select_related("user")
        ]
        _send(
            f"[Config Console] BYPASS: {change.label} version {version.number} published without "
            "review",
            f"{version.published_by} published version {version.number} of {change.label} "
            f"without the required approvals.\n\nReason given: {version.bypass_reason}\n\n"
            f"{_link(cr)}\n",
            owners or admins,
        )


def _schema_change_published(cr: ChangeRequest, schema_change: Change) -> None:
    """One e-mail for the schema version and its thousands of values; the admins of the
    namespaces whose configs change hear of a bypass."""
    version = schema_change.published_schema_version
    assert version is not None
    name = schema_change.schema.name
    configs = Change.objects.filter(change_request=cr, config__isnull=False)
    _send(
        f"[Config Console] Published: schema {name} version {version.number}",
        f'"{cr.title}" was published as version {version.number} of schema {name}, with the '
        # configs, not changes: each config has a change in each environment
        f"new value of {configs.values('config_id').distinct().count()} config(s)."
        f"\n\n{_link(cr)}\n",
        [cr.author],
    )
    bypassed = configs.exclude(published_version__bypass_reason="").first()
    if bypassed is None or bypassed.published_version is None:
        return
    _send(
        f"[Config Console] BYPASS: schema {name} change published without review",
        f'"{cr.title}" was published without the required approvals.\n\n'
        f"Reason given: {bypassed.published_version.bypass_reason}\n\n{_link(cr)}\n",
        # Admins of any namespace whose configs change.
        get_user_model()
        .objects.filter(
            memberships__namespace__in=touched(cr).namespaces,
            memberships__role=Role.ADMIN,
            is_active=True,
        )
        .distinct(),
    )
