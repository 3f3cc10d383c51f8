"""Emails about change requests. Called from `transaction.on_commit` only: a rolled-back change
never sends mail."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from configs.models import Membership, Role
from reviews.models import ChangeRequest, Review

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
    return ChangeRequest.objects.select_related("config__namespace", "author").get(pk=pk)


def review_requested(pk: int) -> None:
    """Reviewers of the namespace (not the author) are asked to review."""
    cr = _load(pk)
    reviewers = (
        get_user_model()
        .objects.filter(
            memberships__namespace=cr.config.namespace,
            memberships__role__in=[Role.REVIEWER, Role.ADMIN],
            is_active=True,
        )
        .exclude(pk=cr.author_id)
    )
    _send(
        f"[Config Console] Review requested: {cr.config} — {cr.title}",
        f"{cr.author} asks for your review of a change to {cr.config}:\n\n"
        f"  {cr.title}\n\n{_link(cr)}\n",
        reviewers,
    )


def reviewed(pk: int, review_pk: int) -> None:
    """The author hears of each approval or request for changes."""
    cr = _load(pk)
    review = Review.objects.select_related("reviewer").get(pk=review_pk)
    verdict = review.get_verdict_display().lower()
    comment = f"\n\nTheir comment: {review.comment}" if review.comment else ""
    _send(
        f"[Config Console] {review.reviewer} {verdict} your change to {cr.config}",
        f'{review.reviewer} {verdict} "{cr.title}".{comment}\n\n{_link(cr)}\n',
        [cr.author],
    )


def rejected(pk: int) -> None:
    cr = _load(pk)
    _send(
        f"[Config Console] Your change to {cr.config} was rejected",
        f'"{cr.title}" was rejected.\n\n{_link(cr)}\n',
        [cr.author],
    )


def conflicted(pk: int) -> None:
    cr = _load(pk)
    _send(
        f"[Config Console] Your change to {cr.config} needs a rebase",
        f'{cr.config} changed since "{cr.title}" was proposed. Open it to see both versions '
        f"and rebase:\n\n{_link(cr)}\n",
        [cr.author],
    )


def published(pk: int, version_pk: int) -> None:
    """The author hears that their change is published; owners hear of every bypass."""
    cr = _load(pk)
    version = cr.published_version
    when = f"takes effect at {version.effective_at:%Y-%m-%d %H:%M %Z}"
    _send(
        f"[Config Console] Published: {cr.config} version {version.number}",
        f'"{cr.title}" was published by {version.published_by} as version {version.number}; it '
        f"{when}.\n\n{_link(cr)}\n",
        [cr.author],
    )
    if version.bypass_reason:
        owners = list(cr.config.owners.all())
        admins = [
            m.user
            for m in Membership.objects.filter(
                namespace=cr.config.namespace, role=Role.ADMIN
            ).select_related("user")
        ]
        _send(
            f"[Config Console] BYPASS: {cr.config} version {version.number} "
            "published without review",
            f"{version.published_by} published version {version.number} of {cr.config} without the "
            f"required approvals.\n\nReason given: {version.bypass_reason}\n\n{_link(cr)}\n",
            owners or admins,
        )
