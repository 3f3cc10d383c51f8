"""Who may read or write what over the API: the person's role, narrowed by the token's scope."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from configs import access
from configs.api.authentication import may_read
from configs.models import ApiToken, Config, Namespace

NOT_FOUND = "No such config, or no access to it."
NO_NAMESPACE = "No such namespace, or no access to it."


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def in_scope(token: ApiToken, namespace: Namespace) -> bool:
    if token.scope_namespace == namespace.slug:
        return token.in_scope
    if not hasattr(token, "_scope_ids"):
        token._scope_ids = set(token.namespaces.values_list("pk", flat=True))
    return namespace.pk in token._scope_ids


def ensure_readable(request, namespace: Namespace, message: str = NOT_FOUND) -> None:
    """404 unless the person has a role in `namespace` and the token (if any) reaches it.

    404 rather than 403, so that neither tokens nor people learn which names exist."""
    if access.role_in(request.user, namespace) is None:
        raise Http404(message)
    token = token_of(request)
    if token is not None and not in_scope(token, namespace):
        raise Http404(message)


def annotated_access(request, namespace: str) -> bool | None:
    """The token lookup's answer for `namespace` (None when it was not asked, e.g. sessions)."""
    token = token_of(request)
    if token is None or token.scope_namespace != namespace:
        return None
    return may_read(token)


def ensure_can_write(request) -> None:
    token = token_of(request)
    if token is not None and not token.can_write:
        raise PermissionDenied(
            "This token can only read. Create a write token to propose or review changes."
        )


def readable_config(request, namespace: str, key: str) -> Config:
    """The config, or 404 when it does not exist or the request may not read its namespace."""
    config = (
        Config.objects.select_related("namespace", "schema")
        .filter(namespace__slug=namespace, key=key)
        .first()
    )
    if config is None:
        raise Http404(NOT_FOUND)
    ensure_readable(request, config.namespace)
    return config


def ensure_namespace_readable(request, slug: str) -> None:
    """404 unless the request may read namespace `slug` (from the token lookup when it can)."""
    allowed = annotated_access(request, slug)
    if allowed is None:
        namespace = Namespace.objects.filter(slug=slug).first()
        if namespace is None:
            raise Http404(NO_NAMESPACE)
        ensure_readable(request, namespace, NO_NAMESPACE)
    elif not allowed:
        raise Http404(NO_NAMESPACE)
