"""Emails about schema change requests, as `notifications` sends for change requests. Called from
`transaction.on_commit` only: a rolled-back change never sends mail."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count

from configs.models import Config, Role
from reviews.notifications import _send
from reviews.schema_change_models import SchemaChangeItem, SchemaChangeRequest, SchemaReview


def _link(change_request: SchemaChangeRequest) -> str:
    return settings.CONSOLE_BASE_URL.rstrip("/") + change_request.get_absolute_url()


def _load(pk: int) -> SchemaChangeRequest:
    return SchemaChangeRequest.objects.select_related("schema", "author").get(pk=pk)


def _namespaces(change_request: SchemaChangeRequest) -> set[int]:
    """The namespaces of the configs whose values change; none changing, of every config using
    the schema (as the gate counts them)."""
    return set(
        SchemaChangeItem.objects.filter(change_request=change_request).values_list(
            "config__namespace_id", flat=True
        )
    ) or set(
        Config.objects.filter(schema_id=change_request.schema_id).values_list(
            "namespace_id", flat=True
        )
    )


def review_requested(pk: int) -> None:
    """People who review in every namespace whose configs change (not the author) are asked to
    review: only their approvals count."""
    change_request = _load(pk)
    namespaces = _namespaces(change_request)
    if not namespaces:
        return
    reviewers = (
        get_user_model()
        .objects.filter(
            memberships__namespace__in=namespaces,
            memberships__role__in=[Role.REVIEWER, Role.ADMIN],
            is_active=True,
        )
        .annotate(reviews_in=Count("memberships", distinct=True))
        .filter(reviews_in=len(namespaces))
        .exclude(pk=change_request.author_id)
    )
    _send(
        f"[Config Console] Review requested: schema {change_request.schema.name} — "
        f"{change_request.title}",
        f"{change_request.author} asks for your review of a change to schema "
        f"{change_request.schema.name} and the values it changes:\n\n"
        f"  {change_request.title}\n\n{_link(change_request)}\n",
        reviewers,
    )


def reviewed(pk: int, review_pk: int) -> None:
    """The author hears of each approval or request for changes."""
    change_request = _load(pk)
    review = SchemaReview.objects.select_related("reviewer").get(pk=review_pk)
    verdict = review.get_verdict_display().lower()
    comment = f"\n\nTheir comment: {review.comment}" if review.comment else ""
    _send(
        f"[Config Console] {review.reviewer} {verdict} your change to schema "
        f"{change_request.schema.name}",
        f'{review.reviewer} {verdict} "{change_request.title}".{comment}\n\n'
        f"{_link(change_request)}\n",
        [change_request.author],
    )


def published(pk: int) -> None:
    """The author hears that the schema version and its values are published."""
    change_request = SchemaChangeRequest.objects.select_related(
        "schema", "author", "published_version"
    ).get(pk=pk)
    version = change_request.published_version
    _send(
        f"[Config Console] Published: schema {change_request.schema.name} version {version.number}",
        f'"{change_request.title}" was published as version {version.number} of schema '
        f"{change_request.schema.name}, with the new value of "
        f"{change_request.items.count()} config(s).\n\n{_link(change_request)}\n",
        [change_request.author],
    )


def bypassed(pk: int, reason: str) -> None:
    """Admins of the namespaces whose configs change hear of every bypass, as for a config."""
    change_request = _load(pk)
    admins = (
        get_user_model()
        .objects.filter(
            memberships__namespace__in=_namespaces(change_request),
            memberships__role=Role.ADMIN,
            is_active=True,
        )
        .distinct()
    )
    _send(
        f"[Config Console] BYPASS: schema {change_request.schema.name} change published "
        "without review",
        f'"{change_request.title}" was published without the required approvals.\n\n'
        f"Reason given: {reason}\n\n{_link(change_request)}\n",
        list(admins),
    )
