"""Bearer tokens, looked up in one statement that also answers the request's hot questions.

A pipeline read must see every publish at once, so it cannot skip the database; but it can ask
everything it needs in the one query it must make. When the URL names a namespace (and a
config), the token row comes back annotated with the token's scope there, its user's role there
and the config's live version, so a warm read costs exactly one query.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from configs.api.lookup import token_lookup
from configs.models import ApiToken
from configs.services import TOKEN_PREFIX, token_hash

# Writing `last_used_at` on every read would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_for(secret: str, namespace: str | None, key: str | None, now) -> ApiToken:
    """The usable token whose secret this is, with its user, scope, role and live version for
    the URL's namespace and key (see lookup.py); AuthenticationFailed says why it is not."""
    if not secret.startswith(TOKEN_PREFIX):
        raise exceptions.AuthenticationFailed("The token is not valid.")
    token = token_lookup(token_hash(secret), namespace, key, now)
    if token is None or not token.user.is_active:
        raise exceptions.AuthenticationFailed("The token is not valid.")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("The token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise exceptions.AuthenticationFailed("The token has expired.")
    # What the annotations were computed for; views trust them only for that namespace.
    token.scope_namespace = namespace
    token.scope_key = key
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>'."
            )
        try:
            secret = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        match = getattr(request._request, "resolver_match", None)
        kwargs = match.kwargs if match else {}
        token = token_for(secret, kwargs.get("namespace"), kwargs.get("key"), timezone.now())
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
