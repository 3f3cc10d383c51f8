"""Bearer tokens, looked up in one statement that also answers the request's hot questions.

A pipeline read must see every publish at once, so it cannot skip the database; but it can ask
everything it needs in the one query it must make. When the URL names a namespace (and a
config), the token row comes back annotated with the token's scope there, its user's role there
and the config's live version, so a warm read costs exactly one query.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from common import throttle
from configs.api.lookup import TokenRow, token_lookup
from configs.models import ApiToken
from configs.services import TOKEN_PREFIX, token_hash

# Writing `last_used_at` on every read would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def use_is_due(token: TokenRow | ApiToken, now: datetime) -> bool:
    """Whether the token's last use must be written again (at most once a LAST_USED_PRECISION)."""
    return token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION


def token_row(secret: str, namespace: str | None, key: str | None, now, *, whole_user=False):
    """The usable token whose secret this is, with its scope, role and live version for the
    URL's namespace and key (see lookup.py); AuthenticationFailed says why it is not usable."""
    if not secret.startswith(TOKEN_PREFIX):
        raise exceptions.AuthenticationFailed("The token is not valid.")
    token = token_lookup(token_hash(secret), namespace, key, now, whole_user=whole_user)
    if token is None or not token.user_is_active:
        raise exceptions.AuthenticationFailed("The token is not valid.")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("The token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise exceptions.AuthenticationFailed("The token has expired.")
    if use_is_due(token, now):
        ApiToken.objects.filter(pk=token.id).update(last_used_at=now)
    return token


def may_read(token: TokenRow | ApiToken) -> bool:
    """Whether the token reaches the namespace it was looked up for, and its user has a role."""
    return bool(token.in_scope and (token.role is not None or token.user_is_superuser))


def _count_failure(request) -> None:
    refusal = throttle.authentication_failed(request._request)
    if refusal is not None:
        raise refusal


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            _count_failure(request)
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>'."
            )
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            _count_failure(request)
            raise exceptions.AuthenticationFailed("The token is not valid.")
        match = getattr(request._request, "resolver_match", None)
        kwargs = match.kwargs if match else {}
        namespace = kwargs.get("namespace")
        try:
            row = token_row(secret, namespace, kwargs.get("key"), timezone.now(), whole_user=True)
        except exceptions.AuthenticationFailed:
            _count_failure(request)
            raise
        token = row.token_model()
        # What the annotations were computed for; views trust them only for that namespace.
        token.scope_namespace = namespace
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in the OpenAPI document (Swagger UI's "Authorize" button)."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the console's API tokens page or create_token.",
        }
