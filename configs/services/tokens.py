"""API tokens: made, shown once, revoked. Each change is one function: one transaction, audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from configs import access, environments
from configs.environments import Env
from configs.models import ApiToken, Namespace, Role

TOKEN_PREFIX = "cc_"


def token_hash(secret: str) -> str:
    # The secret is 240 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    user,
    name: str,
    namespaces: list[Namespace],
    write: bool = False,
    expires_at: datetime | None = None,
    environment: Env | None = None,
    actor=None,
) -> tuple[ApiToken, str]:
    """A new token for `user` in `namespaces`, reading `environment` only (None: whichever is
    the default); returns it with its secret, shown only this once."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("A token needs a name saying what it is for.")
    if not namespaces:
        raise ValidationError("Choose at least one namespace for the token.")
    for namespace in namespaces:
        if access.role_in(user, namespace) is None:
            raise PermissionDenied(f"{user.username} has no role in {namespace.slug}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry must be in the future.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:10],
        key_hash=token_hash(secret),
        can_write=write,
        expires_at=expires_at,
        environment_id=environment.id if environment is not None else None,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    token.namespaces.set(namespaces)
    slugs = sorted(namespace.slug for namespace in namespaces)
    record(
        "token.created",
        actor=actor,
        target=token,
        # One event per token: the namespace column holds it when the token has only one.
        namespace=slugs[0] if len(slugs) == 1 else "",
        admins_of=slugs,
        details={
            "user": user.username,
            "namespaces": slugs,
            "scope": token.scope,
            "environment": (environment or environments.default()).name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


def can_revoke_token(actor, token: ApiToken) -> bool:
    """The token's owner, or an admin of one of its namespaces."""
    if actor.pk == token.user_id or actor.is_superuser:
        return True
    return any(access.has_role(actor, ns, Role.ADMIN) for ns in token.namespaces.all())


@transaction.atomic
def token_revoke(*, token: ApiToken, actor, reason: str = "") -> ApiToken:
    """Stop `token` working at once; revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not can_revoke_token(actor, token):
        raise PermissionDenied("Only the token's owner or a namespace admin can revoke it.")
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    slugs = sorted(token.namespaces.values_list("slug", flat=True))
    record(
        "token.revoked",
        actor=actor,
        target=token,
        namespace=slugs[0] if len(slugs) == 1 else "",
        admins_of=slugs,
        reason=reason,
        details={"user": token.user.username, "namespaces": slugs},
    )
    return token
