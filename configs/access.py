"""Who may do what in a namespace. Every page and endpoint asks here, on the server."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from configs.models import ROLE_RANK, Membership, Namespace, Role


def roles_of(user) -> dict[int, str]:
    """{namespace id: role} for `user`, read once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_namespace_roles", None)
    if cached is None:
        if user.is_superuser:
            cached = {pk: Role.ADMIN for pk in Namespace.objects.values_list("pk", flat=True)}
        else:
            cached = dict(Membership.objects.filter(user=user).values_list("namespace_id", "role"))
        user._namespace_roles = cached
    return cached


def highest_role(user) -> str | None:
    """The strongest role `user` has in any namespace (None: no access anywhere)."""
    roles = roles_of(user).values()
    return max(roles, key=lambda role: ROLE_RANK[role], default=None)


def forget_roles(user) -> None:
    """Drop the cached roles (after a membership change in the same request)."""
    if hasattr(user, "_namespace_roles"):
        del user._namespace_roles


def role_in(user, namespace: Namespace) -> str | None:
    return roles_of(user).get(namespace.pk)


def has_role(user, namespace: Namespace, minimum: str) -> bool:
    role = role_in(user, namespace)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def ensure_visible(user, namespace: Namespace) -> None:
    """404, not 403, for namespaces a person has no role in: their names do not leak."""
    if role_in(user, namespace) is None:
        raise Http404("No such config.")


_WHAT = {
    Role.EDITOR: "propose changes",
    Role.REVIEWER: "review and publish changes",
    Role.ADMIN: "do this",
}


def ensure_role(user, namespace: Namespace, minimum: str, doing: str | None = None) -> None:
    if not has_role(user, namespace, minimum):
        what = doing or _WHAT.get(minimum, "do this")
        raise PermissionDenied(
            f"You need the {Role(minimum).label.lower()} role in {namespace.slug} to {what}."
        )


def is_admin_somewhere(user) -> bool:
    return getattr(user, "is_superuser", False) or Role.ADMIN in roles_of(user).values()


def can_create_schema(user) -> bool:
    """Schema authors: admins of any namespace (superusers anywhere)."""
    return is_admin_somewhere(user)


def ensure_can_create_schema(user) -> None:
    if not can_create_schema(user):
        raise PermissionDenied("Only namespace admins can add schemas.")


def can_edit_schema(user, schema) -> bool:
    """Admins of every namespace whose configs use the schema (of any namespace, if unused)."""
    if getattr(user, "is_superuser", False):
        return True
    # One query, however many configs use the schema.
    namespace_ids = set(schema.configs.values_list("namespace_id", flat=True).distinct())
    if not namespace_ids:
        return is_admin_somewhere(user)
    roles = roles_of(user)
    return all(roles.get(pk) == Role.ADMIN for pk in namespace_ids)


def ensure_can_edit_schema(user, schema) -> None:
    if not can_edit_schema(user, schema):
        raise PermissionDenied("Only admins of every namespace using this schema can change it.")


def visible_namespace_ids(user) -> list[int]:
    return list(roles_of(user))


def namespaces_with_role(user, minimum: str) -> list[int]:
    """Ids of the namespaces where `user` has at least the `minimum` role."""
    return [pk for pk, role in roles_of(user).items() if ROLE_RANK[role] >= ROLE_RANK[minimum]]
