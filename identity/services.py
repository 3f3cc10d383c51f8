"""Signing in with the identity provider, provisioning people over SCIM, the group → role
mapping and the end of a deactivated person's access. Each change: one transaction, audited."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services import record
from configs import access
from configs.models import ROLE_RANK, ApiToken, Membership, Namespace, Role
from identity.models import (
    GroupRole,
    Identity,
    MappedRole,
    ProviderGroup,
    ProvisionedPerson,
    ScimToken,
    SignedInSession,
)

SCIM_TOKEN_PREFIX = "scim_"


class SignInRefused(Exception):
    """A sign-in through the identity provider that does not go through, with the reason in
    words (shown on the login page and kept in the audit log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProvisioningActor:
    """Who acts in the audit log when the identity provider changes people over SCIM."""

    token_name: str
    pk: None = None

    @property
    def username(self) -> str:
        return f"SCIM ({self.token_name})"


def _hash(secret: str) -> str:
    # 240 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


# SCIM tokens ---------------------------------------------------------------------------------


@transaction.atomic
def scim_token_create(*, name: str, actor=None) -> tuple[ScimToken, str]:
    """A new provisioning token; returns it with its secret, shown only this once."""
    name = (name or "").strip() or "identity provider"
    secret = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ScimToken.objects.create(name=name[:100], prefix=secret[:10], key_hash=_hash(secret))
    record("scim_token.created", actor=actor, target=token, details={"name": token.name})
    return token, secret


@transaction.atomic
def scim_token_revoke(*, token: ScimToken, actor) -> ScimToken:
    """Stop `token` working at once (superusers only); revoking twice changes nothing."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only superusers can revoke SCIM tokens.")
    token = ScimToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        record("scim_token.revoked", actor=actor, target=token, details={"name": token.name})
    return token


def scim_token_check(secret: str) -> ScimToken | None:
    """The usable SCIM token whose secret this is (None: unknown or revoked)."""
    if not secret.startswith(SCIM_TOKEN_PREFIX):
        return None
    token = ScimToken.objects.filter(key_hash=_hash(secret), revoked_at__isnull=True).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# Sessions and the end of access --------------------------------------------------------------


def session_remember(*, user: User, session_key: str | None) -> None:
    """Keep which session `user` signed in with, so it can be ended when they are deactivated."""
    if session_key:
        SignedInSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def session_forget(*, session_key: str | None) -> None:
    if session_key:
        SignedInSession.objects.filter(session_key=session_key).delete()


def _session_store(session_key: str) -> SessionBase:
    from django.conf import settings

    return import_string(settings.SESSION_ENGINE + ".SessionStore")(session_key)


@transaction.atomic
def person_access_end(*, user: User, actor=None, via: str) -> dict[str, int]:
    """A deactivated person's access ends at once: every session they signed in with is ended
    and every API token they own is revoked (the token check also refuses inactive people, so
    a token answers 401 from the moment the deactivation commits). Their change requests,
    history and audit events stay, under their name."""
    now = timezone.now()
    tokens = list(
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True)
    )
    ApiToken.objects.filter(pk__in=tokens).update(
        revoked_at=now, revoked_by=actor if getattr(actor, "pk", None) else None
    )
    keys = list(SignedInSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        _session_store(key).delete()
    SignedInSession.objects.filter(user=user).delete()
    ended = {"sessions_ended": len(keys), "tokens_revoked": len(tokens)}
    record(
        "person.deactivated",
        actor=actor,
        target=user,
        details={"user": user.get_username(), "via": via, **ended},
    )
    return ended


# Groups and the group → role mapping ---------------------------------------------------------


def _wanted_roles(user: User) -> tuple[dict[int, str], dict[int, list[str]]]:
    """{namespace id: strongest role the person's groups give there} and which groups gave it."""
    names = list(ProviderGroup.objects.filter(members=user).values_list("name", flat=True))
    wanted: dict[int, str] = {}
    because: dict[int, list[str]] = {}
    for group_name, namespace_id, role in GroupRole.objects.filter(
        group_name__in=names
    ).values_list("group_name", "namespace_id", "role"):
        if (
            namespace_id not in wanted
            or ROLE_RANK[Role(role)] > ROLE_RANK[Role(wanted[namespace_id])]
        ):
            wanted[namespace_id] = role
        because.setdefault(namespace_id, []).append(group_name)
    return wanted, because


@transaction.atomic
def roles_apply_mapping(*, user: User, via: str) -> list[dict[str, Any]]:
    """Make `user`'s roles match what their groups map to: a namespace the mapping names gets
    the strongest role any of their groups gives there; a role the mapping gave before and no
    group gives any more is taken away. Roles given by hand elsewhere are left alone."""
    wanted, because = _wanted_roles(user)
    given_before = set(MappedRole.objects.filter(user=user).values_list("namespace_id", flat=True))
    current = {m.namespace_id: m for m in Membership.objects.filter(user=user)}
    slugs = dict(
        Namespace.objects.filter(pk__in=set(wanted) | given_before).values_list("pk", "slug")
    )
    changes: list[dict[str, Any]] = []
    # Written here rather than through configs' membership_set: the mapping is not an admin
    # acting in a namespace (no role check), and its event says which groups decided.
    for namespace_id, role in sorted(wanted.items()):
        membership = current.get(namespace_id)
        before = membership.role if membership else None
        if before != role:
            membership = membership or Membership(namespace_id=namespace_id, user=user)
            membership.role = role
            membership.save()
            changes.append(
                {
                    "namespace": slugs[namespace_id],
                    "role": role,
                    "previous_role": before,
                    "groups": sorted(because[namespace_id]),
                }
            )
        MappedRole.objects.get_or_create(user=user, namespace_id=namespace_id)
    for namespace_id in sorted(given_before - set(wanted)):
        membership = current.get(namespace_id)
        if membership is not None:
            changes.append(
                {
                    "namespace": slugs[namespace_id],
                    "role": None,
                    "previous_role": membership.role,
                    "groups": [],
                }
            )
            membership.delete()
        MappedRole.objects.filter(user=user, namespace_id=namespace_id).delete()
    for change in changes:
        record(
            "membership.mapped",
            actor=None,
            target=user,
            namespace=change["namespace"],
            details={"user": user.get_username(), "via": via, **change},
        )
    access.forget_roles(user)
    return changes


def _members_of(group_names: Iterable[str]) -> list[User]:
    return list(get_user_model().objects.filter(provider_groups__name__in=group_names).distinct())


@transaction.atomic
def groups_set_for_person(*, user: User, names: Iterable[str]) -> None:
    """The groups a sign-in's groups claim names become exactly the person's groups."""
    names = {str(name).strip()[:200] for name in names if str(name).strip()}
    for name in names:
        ProviderGroup.objects.get_or_create(name=name)
    user.provider_groups.set(ProviderGroup.objects.filter(name__in=names))


@transaction.atomic
def group_role_set(*, group_name: str, namespace: Namespace, role: str, actor: User) -> GroupRole:
    """Members of `group_name` get `role` in `namespace` (at once for those the console knows,
    and at every sign-in); namespace admins map groups into their own namespaces."""
    access.ensure_role(actor, namespace, Role.ADMIN, "map groups to roles")
    group_name = (group_name or "").strip()
    if not group_name:
        raise ValidationError("Name the group as the identity provider names it.")
    if role not in Role.values:
        raise ValidationError(f"“{role}” is not a role.")
    mapping, _ = GroupRole.objects.update_or_create(
        group_name=group_name[:200], namespace=namespace, defaults={"role": role}
    )
    record(
        "group_role.set",
        actor=actor,
        target=mapping,
        namespace=namespace.slug,
        details={"group": mapping.group_name, "role": role},
    )
    for member in _members_of([mapping.group_name]):
        roles_apply_mapping(user=member, via="mapping")
    return mapping


@transaction.atomic
def group_role_remove(*, mapping: GroupRole, actor: User) -> None:
    """The group no longer gives a role in the namespace; members keep only what else gives."""
    access.ensure_role(actor, mapping.namespace, Role.ADMIN, "map groups to roles")
    record(
        "group_role.removed",
        actor=actor,
        target=mapping,
        namespace=mapping.namespace.slug,
        details={"group": mapping.group_name, "role": mapping.role},
    )
    members = _members_of([mapping.group_name])
    mapping.delete()
    for member in members:
        roles_apply_mapping(user=member, via="mapping")


# Signing in with the identity provider -------------------------------------------------------

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def _free_username(wanted: str) -> str:
    User = get_user_model()
    base = _USERNAME_UNSAFE.sub("-", wanted)[:140] or "person"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _find_person(*, issuer: str, subject: str, username: str) -> User | None:
    """The person this sign-in is: linked before by (issuer, sub); or provisioned over SCIM with
    this subject as externalId; or, only where OIDC_LINK_PROVISIONED_BY_USERNAME is on, with
    this username. Off by default: some providers let people edit the username claim, and one
    could then sign in as a provisioned colleague who has not signed in yet. A local password
    account is never taken over by a provider account of the same name."""
    identity = Identity.objects.select_related("user").filter(issuer=issuer, subject=subject)
    if found := identity.first():
        return found.user
    provisioned = ProvisionedPerson.objects.select_related("user").exclude(
        user__identities__issuer=issuer
    )
    by_username = username and settings.OIDC_LINK_PROVISIONED_BY_USERNAME
    match = provisioned.filter(external_id=subject).first() or (
        provisioned.filter(user__username__iexact=username).first() if by_username else None
    )
    return match.user if match else None


@transaction.atomic
def person_sign_in_with_provider(
    *,
    issuer: str,
    claims: dict[str, Any],
    username_claim: str,
    groups_claim: str,
    provider: str,
) -> User:
    """The person whose verified claims these are, created at their first sign-in, their name,
    e-mail and groups brought up to date and their roles matched to the mapping."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused(f"{provider} did not say who you are (no “sub” claim).")
    email = str(claims.get("email") or "")[:254]
    wanted_name = str(claims.get(username_claim) or email.split("@")[0] or subject)
    user = _find_person(issuer=issuer, subject=subject, username=wanted_name)
    User = get_user_model()
    if user is None:
        # No password: they sign in through the provider (create_user leaves it unusable).
        user = User.objects.create_user(_free_username(wanted_name), email=email)
        record(
            "person.signed_up",
            actor=user,
            target=user,
            details={"user": user.get_username(), "provider": provider, "subject": subject},
        )
    if not user.is_active:
        raise SignInRefused(f"{user.get_username()} is deactivated in Config Console.")
    Identity.objects.update_or_create(
        issuer=issuer, subject=subject, defaults={"user": user, "last_sign_in_at": timezone.now()}
    )
    given, family = str(claims.get("given_name") or ""), str(claims.get("family_name") or "")
    changed = {
        field: value
        for field, value in (("email", email), ("first_name", given), ("last_name", family))
        if value and getattr(user, field) != value[:150]
    }
    if changed:
        for field, value in changed.items():
            setattr(user, field, value[:150])
        user.save(update_fields=list(changed))
    if groups_claim in claims:
        groups = claims[groups_claim]
        groups_set_for_person(user=user, names=groups if isinstance(groups, list) else [groups])
    roles_apply_mapping(user=user, via="sign-in")
    return user


def whom_to_ask() -> list[str]:
    """Who can give a person access: the admins of any namespace, else the superusers."""
    User = get_user_model()
    admins = (
        User.objects.filter(is_active=True, memberships__role=Role.ADMIN)
        .distinct()
        .order_by("username")
        .values_list("username", flat=True)[:5]
    )
    return list(admins) or list(
        User.objects.filter(is_active=True, is_superuser=True)
        .order_by("username")
        .values_list("username", flat=True)[:5]
    )


@transaction.atomic
def person_set_active(*, user: User, active: bool, actor: User) -> User:
    """A superuser deactivates a person in the console (their access ends at once: see
    person_access_end, run by the save) or lets them back in (their tokens stay revoked)."""
    if not actor.is_superuser:
        raise PermissionDenied("Only superusers can deactivate or reactivate people.")
    if user.pk == actor.pk:
        raise PermissionDenied("You cannot deactivate yourself.")
    if user.is_active == active:
        return user
    user.is_active = active
    user._deactivated_by = actor  # type: ignore[attr-defined]
    user._deactivated_via = "console"  # type: ignore[attr-defined]
    user.save(update_fields=["is_active"])
    if active:
        record(
            "person.reactivated",
            actor=actor,
            target=user,
            details={"user": user.get_username(), "via": "console"},
        )
    return user
