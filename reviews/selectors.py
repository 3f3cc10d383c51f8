"""Reads about change requests for the console pages."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import Http404

from configs import access
from configs.models import Config, Role, Version
from reviews.models import ChangeRequest, Review
from reviews.services import gate_for


def _visible(user):
    return ChangeRequest.objects.filter(
        config__namespace_id__in=access.visible_namespace_ids(user)
    ).select_related("config__namespace", "author")


def open_for_config(config: Config) -> list[ChangeRequest]:
    return list(
        config.change_requests.filter(status__in=ChangeRequest.OPEN).select_related("author")
    )


def attach_open_counts(configs) -> None:
    """Set `open_count` on each config of a page, in one query."""
    counts = dict(
        ChangeRequest.objects.filter(
            config__in=[c.pk for c in configs], status__in=ChangeRequest.OPEN
        )
        .values_list("config")
        .annotate(n=Count("pk"))
    )
    for config in configs:
        config.open_count = counts.get(config.pk, 0)


def approvers_of(version: Version) -> list[str]:
    """Who approved the exact value that became `version` (empty for bypasses and direct ones)."""
    change_request = (
        ChangeRequest.objects.filter(published_version=version)
        .select_related("config__namespace")
        .prefetch_related("reviews__reviewer")
        .first()
    )
    if change_request is None:
        return []
    return sorted(user.username for user in gate_for(change_request).approvers)


def for_change_request(*, user, pk: int) -> ChangeRequest:
    try:
        return (
            _visible(user)
            .select_related("base_version", "published_version", "config__schema")
            .get(pk=pk)
        )
    except ChangeRequest.DoesNotExist:
        raise Http404("No such change request.") from None


def waiting_for(user):
    """Open change requests `user` may review and has not yet approved as they stand."""
    reviewer_namespaces = [
        ns for ns, role in access.roles_of(user).items() if role in (Role.REVIEWER, Role.ADMIN)
    ]
    return (
        _visible(user)
        .filter(
            status__in=[ChangeRequest.Status.IN_REVIEW, ChangeRequest.Status.CHANGES_REQUESTED],
            config__namespace_id__in=reviewer_namespaces,
        )
        .exclude(author=user)
        .exclude(
            Q(
                reviews__reviewer=user,
                reviews__dismissed_at__isnull=True,
                reviews__verdict=Review.Verdict.APPROVE,
            )
        )
        .distinct()
        .order_by("created_at")
    )


def changes_i_requested(user):
    return (
        _visible(user)
        .filter(
            status__in=ChangeRequest.OPEN,
            reviews__reviewer=user,
            reviews__dismissed_at__isnull=True,
            reviews__verdict=Review.Verdict.REQUEST_CHANGES,
        )
        .distinct()
    )


def authored_by(user, *, open_only: bool = False):
    changes = _visible(user).filter(author=user)
    if open_only:
        changes = changes.filter(status__in=ChangeRequest.OPEN)
    return changes.order_by("-updated_at")
