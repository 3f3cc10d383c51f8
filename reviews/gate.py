"""The review gate, written once for every kind of change request: what stands between a change
request and publishing, and who may author, review, publish or bypass it.

Set-based: the configs a change request touches are read with aggregate queries (their
namespaces and the strictest of their policies), never config by config, so a schema change
carrying the new values of thousands of configs costs what a one-config change costs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from configs import access
from configs.models import (
    Config,
    Namespace,
    Role,
    effective_owner_approval_required,
    effective_required_approvals,
)
from reviews.models import ChangeRequest, Review


@dataclass
class Gate:
    """Where a change request stands against the review policy of what it changes."""

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


@dataclass(frozen=True)
class Touched:
    """The configs a change request changes, as the gate and the role checks need them: their
    namespaces and the strictest of their review policies. A schema change that changes no
    value touches every config using its schema (their reviewers review it); one of a schema
    nobody uses touches none (admins anywhere review it)."""

    configs: QuerySet[Config]
    namespaces: list[Namespace]
    required_approvals: int
    owner_approval_required: bool
    schema_id: int | None

    @property
    def needs_review(self) -> bool:
        """Whether any of them needs an approval before it is published (bypass aside)."""
        return self.required_approvals > 0 or self.owner_approval_required

    @property
    def slugs(self) -> str:
        return ", ".join(ns.slug for ns in self.namespaces)

    def owners_approved(self, approver_ids: set[int]) -> bool:
        """Whether each config that needs an owner's approval has one of its own owners among
        `approver_ids` (one query, answering only whether some config still lacks one)."""
        if not self.owner_approval_required:
            return True
        if not approver_ids:
            return False
        owner_approved = Config.owners.through.objects.filter(
            config_id=OuterRef("pk"), user_id__in=approver_ids
        )
        lacking = self.configs.alias(needs_owner=effective_owner_approval_required()).filter(
            ~Exists(owner_approved), needs_owner=True
        )
        return not lacking.exists()


def touched(change_request: ChangeRequest) -> Touched:
    """What `change_request` touches (cached on it until its changes are rewritten)."""
    cached = change_request.__dict__.get("_touched")
    if cached is not None:
        return cached
    schema_change = change_request.schema_change
    configs = change_request.touched_configs()
    by_namespace = (
        configs.order_by()
        .alias(needs_owner=effective_owner_approval_required())
        .values("namespace_id")
        .annotate(
            required=Max(effective_required_approvals()),
            owner_configs=Count("pk", filter=Q(needs_owner=True)),
        )
    )
    policies = {row["namespace_id"]: row for row in by_namespace}
    namespaces = list(Namespace.objects.filter(pk__in=policies).order_by("slug"))
    change_request.__dict__["namespaces"] = namespaces
    result = Touched(
        configs=configs,
        namespaces=namespaces,
        required_approvals=max((row["required"] for row in policies.values()), default=0),
        owner_approval_required=any(row["owner_configs"] for row in policies.values()),
        schema_id=schema_change.schema_id if schema_change else None,
    )
    change_request.__dict__["_touched"] = result
    return result


def _role_everywhere(user, where: Touched, role: str) -> bool:
    """`role` or above in every namespace touched; superusers anywhere. Touching none (a
    schema nobody uses), admins anywhere."""
    if getattr(user, "is_superuser", False):
        return True
    if not where.namespaces:
        return access.is_admin_somewhere(user)
    return all(access.has_role(user, ns, role) for ns in where.namespaces)


def may_see(user, change_request: ChangeRequest) -> bool:
    """Members of every namespace it touches (its author, who may have lost a role since,
    too)."""
    if getattr(user, "pk", None) == change_request.author_id:
        return True
    return _role_everywhere(user, touched(change_request), Role.VIEWER)


def may_review(user, change_request: ChangeRequest) -> bool:
    """Reviewers in every namespace it touches; superusers anywhere."""
    return _role_everywhere(user, touched(change_request), Role.REVIEWER)


def may_bypass(user, change_request: ChangeRequest) -> bool:
    """Admins of every namespace it touches; superusers anywhere."""
    return _role_everywhere(user, touched(change_request), Role.ADMIN)


def may_author(user, change_request: ChangeRequest) -> bool:
    """Whether `user` may propose this set now: an editor in every namespace of its configs,
    and, for a schema change, an admin of every namespace using the schema."""
    schema_change = change_request.schema_change
    if schema_change is not None and not access.can_edit_schema(user, schema_change.schema):
        return False
    return _role_everywhere(user, touched(change_request), Role.EDITOR)


def ensure_may_author(user, change_request: ChangeRequest, doing: str) -> None:
    """Roles are read again at every step: an author demoted since opening may not go on."""
    if may_author(user, change_request):
        return
    if change_request.schema_change is not None:
        raise PermissionDenied(
            f"Only admins of every namespace using this schema can {doing} a schema change."
        )
    raise PermissionDenied(
        f"You need the editor role in {touched(change_request).slugs} to {doing} this change."
    )


def ensure_may_review(user, change_request: ChangeRequest, doing: str = "review") -> None:
    if not may_review(user, change_request):
        where = touched(change_request)
        if not where.namespaces:
            raise PermissionDenied(f"Only namespace admins can {doing} this change.")
        raise PermissionDenied(
            f"You need the reviewer role in {where.slugs} to {doing} this change."
        )


def ensure_may_bypass(user, change_request: ChangeRequest) -> None:
    if not may_bypass(user, change_request):
        where = touched(change_request).slugs or "any namespace"
        raise PermissionDenied(
            f"You need the admin role in {where} to publish without the required approvals."
        )


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


def gate_for(change_request: ChangeRequest) -> Gate:
    """Count only standing approvals of the exact set now proposed, never the author's, by
    people who review now in every namespace the set touches: a reviewer who lost the role
    no longer opens or holds the gate. The strictest policy of its configs applies, and each
    config that needs an owner's approval needs one of its own owners'."""
    where = touched(change_request)
    standing = [r for r in change_request.reviews.all() if r.dismissed_at is None]
    counting = {r.pk for r in standing if may_review(r.reviewer, change_request)}
    approvers = [r.reviewer for r in approvals_of_proposal(change_request) if r.pk in counting]
    blockers = [
        r.reviewer
        for r in standing
        if r.verdict == Review.Verdict.REQUEST_CHANGES and r.pk in counting
    ]
    return Gate(
        required=where.required_approvals,
        approvers=approvers,
        blockers=blockers,
        owner_required=where.owner_approval_required,
        owner_approved=where.owners_approved({u.pk for u in approvers}),
    )


def can_publish(actor: AbstractBaseUser | AnonymousUser, change_request: ChangeRequest) -> bool:
    """Reviewers of every namespace the set touches publish; its author, while they may still
    author it, publishes where nothing in it needs an approval."""
    if may_review(actor, change_request):
        return True
    return (
        actor.pk == change_request.author_id
        and not touched(change_request).needs_review
        and may_author(actor, change_request)
    )
