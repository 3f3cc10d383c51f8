"""The review gate, written once for every kind of change request: what stands between a change
request and publishing, and who may author, review, publish or bypass it.

Set-based: the configs a change request touches are read with aggregate queries (their
namespaces and the strictest of their policies), never config by config, so a schema change
carrying the new values of thousands of configs costs what a one-config change costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from configs import access, environments, policies
from configs.models import Config, Namespace, Role
from reviews.models import Change, ChangeRequest, Review


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
    namespaces and the strictest of the review policies of each config in each environment it
    changes (configs/policies.py). A schema change that changes no value touches every config
    using its schema, in every environment (their reviewers review it); one of a schema nobody
    uses touches none (admins anywhere review it)."""

    configs: QuerySet[Config]
    namespaces: list[Namespace]
    required_approvals: int
    owner_approval_required: bool
    schema_id: int | None
    # "namespace in environment" wherever a policy forbids bypassing it.
    bypass_forbidden: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        """Whether any of them needs an approval before it is published (bypass aside)."""
        return self.required_approvals > 0 or self.owner_approval_required

    @property
    def bypass_allowed(self) -> bool:
        return not self.bypass_forbidden

    @property
    def slugs(self) -> str:
        return ", ".join(ns.slug for ns in self.namespaces)

    def owners_approved(self, approver_ids: set[int]) -> bool:
        """Whether each config that needs an owner's approval (in an environment it changes
        in) has one of its own owners among `approver_ids` (one query, answering only whether
        some config still lacks one)."""
        if not self.owner_approval_required:
            return True
        if not approver_ids:
            return False
        owner_approved = Config.owners.through.objects.filter(
            config_id=OuterRef("pk"), user_id__in=approver_ids
        )
        lacking = self.configs.filter(~Exists(owner_approved), Q(needs_owner=True))
        return not lacking.exists()


def _in_lines(change_request: ChangeRequest) -> dict[int, Q]:
    """For each environment, whether a config (a row of touched_configs()) changes there: a
    config change in that environment, or a new config's first value (every environment). A
    schema change that changes no value touches its configs in every environment."""
    config_changes = Change.objects.filter(
        change_request_id=change_request.pk, config__isnull=False
    )
    lines = config_changes.filter(config_id=OuterRef("pk"))
    return {
        env.id: Q(Exists(lines.filter(Q(environment_id=env.id) | Q(environment__isnull=True))))
        | Q(~Exists(config_changes))
        for env in environments.every()
    }


def touched(change_request: ChangeRequest) -> Touched:
    """What `change_request` touches (cached on it until its changes are rewritten): one
    aggregate query over its configs, whatever their number, with each environment's policy
    read inside it."""
    cached = change_request.__dict__.get("_touched")
    if cached is not None:
        return cached
    schema_change = change_request.schema_change
    in_env = _in_lines(change_request)
    aliases: dict = {}
    needs_owner = Q(pk__in=[])
    aggregates: dict = {}
    for env_id, changed_here in in_env.items():
        aliases[f"required_{env_id}"] = policies.in_environment("required_approvals", env_id)
        aliases[f"owner_{env_id}"] = policies.in_environment("owner_approval_required", env_id)
        aliases[f"bypass_{env_id}"] = policies.in_environment("bypass_allowed", env_id)
        needs_owner |= changed_here & Q(**{f"owner_{env_id}": True})
        aggregates[f"required_{env_id}"] = Max(
            Case(When(changed_here, then=F(f"required_{env_id}")), default=Value(0))
        )
        aggregates[f"forbidden_{env_id}"] = Count(
            "pk", filter=changed_here & Q(**{f"bypass_{env_id}": False})
        )
    configs = (
        change_request.touched_configs()
        .alias(**aliases)
        .alias(needs_owner=ExpressionWrapper(needs_owner, output_field=BooleanField()))
    )
    by_namespace = (
        configs.order_by()
        .values("namespace_id")
        .annotate(owner_configs=Count("pk", filter=Q(needs_owner=True)), **aggregates)
    )
    # Keyed by environment ("required_<id>"…): plain dicts, not the row types of the fields.
    policies_by_namespace: dict[int, dict[str, Any]] = {
        row["namespace_id"]: dict(row) for row in by_namespace
    }
    namespaces = list(Namespace.objects.filter(pk__in=policies_by_namespace).order_by("slug"))
    change_request.__dict__["namespaces"] = namespaces
    rows = policies_by_namespace.values()
    result = Touched(
        configs=configs,
        namespaces=namespaces,
        required_approvals=max(
            (row[f"required_{env_id}"] or 0 for row in rows for env_id in in_env), default=0
        ),
        owner_approval_required=any(row["owner_configs"] for row in rows),
        schema_id=schema_change.schema_id if schema_change else None,
        bypass_forbidden=tuple(
            f"{namespace.slug} in {environments.by_id(env_id).name}"
            for namespace in namespaces
            for env_id in in_env
            if policies_by_namespace[namespace.pk][f"forbidden_{env_id}"]
        ),
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
    """Admins of every namespace it touches (superusers anywhere), where no policy of the
    environments it changes forbids bypass."""
    where = touched(change_request)
    return where.bypass_allowed and _role_everywhere(user, where, Role.ADMIN)


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
    where = touched(change_request)
    if not _role_everywhere(user, where, Role.ADMIN):
        raise PermissionDenied(
            f"You need the admin role in {where.slugs or 'any namespace'} to publish without "
            "the required approvals."
        )
    if not where.bypass_allowed:
        raise PermissionDenied(
            f"The review policy of {', '.join(where.bypass_forbidden)} allows no bypass: "
            "this change is published once it has the approvals it needs."
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
