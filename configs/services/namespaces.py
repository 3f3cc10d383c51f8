"""Changes to namespaces and their members: one function a change, one transaction, audited."""

from __future__ import annotations

from django.db import transaction

from audit.services import record
from configs import access
from configs.models import Membership, Namespace, Role
from configs.services._common import _changed, _unknown, _with_history_user


@transaction.atomic
def namespace_create(
    *,
    slug: str,
    name: str,
    actor=None,
    required_approvals: int = 1,
    owner_approval_required: bool = False,
    description: str = "",
) -> Namespace:
    namespace = _with_history_user(
        Namespace(
            slug=slug,
            name=name,
            description=description,
            required_approvals=required_approvals,
            owner_approval_required=owner_approval_required,
        ),
        actor,
    )
    namespace.full_clean()
    namespace.save()
    record(
        "namespace.created",
        actor=actor,
        target=namespace,
        namespace=slug,
        details={
            "required_approvals": required_approvals,
            "owner_approval_required": owner_approval_required,
        },
    )
    return namespace


NAMESPACE_SETTINGS = ("name", "description", "required_approvals", "owner_approval_required")


@transaction.atomic
def namespace_update(*, namespace: Namespace, actor, reason: str = "", **changes) -> Namespace:
    """Change a namespace's name, description or review policy (admins only); one event."""
    _unknown(changes, NAMESPACE_SETTINGS, "namespace_update")
    access.ensure_role(actor, namespace, Role.ADMIN, "change the namespace's settings")
    namespace = Namespace.objects.select_for_update().get(pk=namespace.pk)
    diff = _changed(namespace, changes)
    if not diff:
        return namespace
    _with_history_user(namespace, actor, reason)
    namespace.save()
    record(
        "namespace.policy_changed",
        actor=actor,
        target=namespace,
        namespace=namespace.slug,
        reason=reason,
        details={"changes": diff},
    )
    return namespace


def _ensure_can_manage_members(actor, namespace: Namespace, role: str | None = None) -> None:
    # No actor is the system (seed_demo, migrations). A namespace nobody administers yet may be
    # given its first admin by whoever sets it up (namespace_create checks no role either).
    if actor is None:
        return
    nobody_administers = not Membership.objects.filter(
        namespace=namespace, role=Role.ADMIN
    ).exists()
    if role == Role.ADMIN and nobody_administers:
        return
    access.ensure_role(actor, namespace, Role.ADMIN, "change who is a member")


@transaction.atomic
def membership_set(*, namespace: Namespace, user, role: str, actor=None) -> Membership:
    """Give `user` exactly `role` in `namespace` (audited only when something changes)."""
    _ensure_can_manage_members(actor, namespace, role)
    membership = Membership.objects.filter(namespace=namespace, user=user).first()
    before = membership.role if membership else None
    if membership is not None and before == role:
        return membership
    membership = membership or Membership(namespace=namespace, user=user)
    _with_history_user(membership, actor)
    membership.role = role
    membership.save()
    record(
        "membership.changed",
        actor=actor,
        target=membership,
        namespace=namespace.slug,
        details={"user": user.username, "role": role, "previous_role": before},
    )
    access.forget_roles(user)
    return membership


@transaction.atomic
def membership_remove(*, namespace: Namespace, user, actor) -> None:
    """Take away `user`'s role in `namespace` (audited only when they had one)."""
    _ensure_can_manage_members(actor, namespace)
    membership = (
        Membership.objects.select_for_update().filter(namespace=namespace, user=user).first()
    )
    if membership is None:
        return
    # Recorded before the delete, which clears the primary key the event points at.
    record(
        "membership.changed",
        actor=actor,
        target=membership,
        namespace=namespace.slug,
        details={"user": user.username, "role": None, "previous_role": membership.role},
    )
    _with_history_user(membership, actor)
    membership.delete()
    access.forget_roles(user)
