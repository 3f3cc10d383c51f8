"""The review gate: what stands between a change request and publishing, and who may publish."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from configs import access
from configs.models import Membership, Namespace, Role
from reviews.models import ChangeRequest, Review


@dataclass
class Gate:
    """Where a change request stands against its config's review policy."""

    required: int
    approvers: list = field(default_factory=list)
    blockers: list = field(default_factory=list)
    owner_required: bool = False
    owner_approved: bool = True

    @property
    def missing(self) -> list[str]:
        """What still stands between the change and publishing, in words."""
        needs = []
        short = self.required - len(self.approvers)
        if short > 0:
            needs.append(f"{short} more approval{'s' if short > 1 else ''}")
        if self.owner_required and not self.owner_approved:
            needs.append("an approval from one of the config's owners")
        for reviewer in self.blockers:
            needs.append(f"{reviewer.username} to approve (they requested changes)")
        return needs

    @property
    def satisfied(self) -> bool:
        return not self.missing

    @property
    def review_status(self) -> str:
        """The in-review state these standing reviews put a change in."""
        if self.blockers:
            return ChangeRequest.Status.CHANGES_REQUESTED
        if self.satisfied:
            return ChangeRequest.Status.APPROVED
        return ChangeRequest.Status.IN_REVIEW


def approvals_of_proposal(change_request: ChangeRequest) -> list[Review]:
    """Standing approvals of the exact set now proposed, never the author's."""
    return [
        r
        for r in change_request.reviews.all()
        if r.dismissed_at is None
        and r.verdict == Review.Verdict.APPROVE
        and r.proposal_hash == change_request.proposal_hash
        and r.reviewer_id != change_request.author_id
    ]


def _reviewer_ids(namespaces: list[Namespace], user_ids: set[int]) -> set[int]:
    """Which of `user_ids` hold the reviewer role (or above) in every one of `namespaces` now
    (superusers anywhere)."""
    if not user_ids:
        return set()
    reviewers = set(user_ids)
    for namespace in namespaces:
        reviewers &= set(
            Membership.objects.filter(
                namespace=namespace, user_id__in=user_ids, role__in=[Role.REVIEWER, Role.ADMIN]
            ).values_list("user_id", flat=True)
        )
    superusers = get_user_model().objects.filter(pk__in=user_ids, is_superuser=True)
    return reviewers | set(superusers.values_list("pk", flat=True))


def gate_for(change_request: ChangeRequest) -> Gate:
    """Count only standing approvals of the exact set now proposed, never the author's, by
    people who review now in every namespace the set touches: a reviewer who lost the role
    no longer opens or holds the gate. The strictest policy of its configs applies, and each
    config that needs an owner's approval needs one of its own owners'."""
    configs = [change.config for change in change_request.change_list]
    standing = [r for r in change_request.reviews.all() if r.dismissed_at is None]
    reviewers = _reviewer_ids(change_request.namespaces, {r.reviewer_id for r in standing})
    approvers = [
        r.reviewer for r in approvals_of_proposal(change_request) if r.reviewer_id in reviewers
    ]
    blockers = [
        r.reviewer
        for r in standing
        if r.verdict == Review.Verdict.REQUEST_CHANGES and r.reviewer_id in reviewers
    ]
    approver_ids = {u.pk for u in approvers}
    needing_owner = [c for c in configs if c.effective_owner_approval_required]
    return Gate(
        required=max(c.effective_required_approvals for c in configs),
        approvers=approvers,
        blockers=blockers,
        owner_required=bool(needing_owner),
        owner_approved=all(
            any(u.pk in approver_ids for u in c.owners.all()) for c in needing_owner
        ),
    )


def can_publish(actor: AbstractBaseUser | AnonymousUser, change_request: ChangeRequest) -> bool:
    """Reviewers of every namespace the set touches publish; an author who is an editor there
    publishes where no config of the set needs an approval."""
    namespaces = change_request.namespaces
    if all(access.has_role(actor, ns, Role.REVIEWER) for ns in namespaces):
        return True
    return (
        all(access.has_role(actor, ns, Role.EDITOR) for ns in namespaces)
        and actor.pk == change_request.author_id
        and not any(c.config.needs_review for c in change_request.change_list)
    )
