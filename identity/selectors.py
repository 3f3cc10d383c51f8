"""Reads for the sign-in pages."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from configs import access
from configs.models import Role
from identity.models import GroupRole, ProviderGroup


def group_roles_for(user: User) -> QuerySet[GroupRole]:
    """The mapping's lines in the namespaces `user` administers."""
    return GroupRole.objects.select_related("namespace").filter(
        namespace_id__in=access.namespaces_with_role(user, Role.ADMIN)
    )


def known_groups() -> list[str]:
    """Group names the console has heard of (over SCIM or in a sign-in), to pick from."""
    return list(ProviderGroup.objects.order_by("name").values_list("name", flat=True)[:500])


def groups_of(user: User) -> list[str]:
    return list(ProviderGroup.objects.filter(members=user).values_list("name", flat=True))
