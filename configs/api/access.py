"""Who may read or write what over the API: the person's role, narrowed by the token's scope."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404

from configs import access, environments
from configs.api.authentication import may_read
from configs.environments import Env
from configs.models import ApiToken, Config, Namespace

NOT_FOUND = "No such config, or no access to it."
NO_NAMESPACE = "No such namespace, or no access to it."


ENVIRONMENT = "environment"  # the query parameter every read takes
_NAME = re.compile(r"[a-z0-9_-]{0,100}")  # an environment's name (models.key_validator), or none


def environment_to_read(asked: str | None, token_environment_id: int | None, *, token: bool) -> Env:
    """The environment a read is of: the one `asked` for (?environment=<name>), or else the
    token's (the default one for tokens made without one, and for people signed in).

    A token reads its own environment only: asking it for another is a 404, as an unknown name
    is, so that a staging pipeline can never read production's values by mistake."""
    if not token:
        return environments.named(asked)
    own = environments.by_id(token_environment_id)
    if asked and asked != own.name:
        environments.named(asked)  # an unknown name says so
        raise Http404(f"This token reads the {own.name} environment only, not {asked}.")
    return own


def only_environment(query: str) -> str | None:
    """What a query string asks when it asks no more than an environment ("environment=<name>"
    gives the name, an empty query ""); None when it asks anything else. The hot read paths
    answer the first two themselves and leave the rest, every error included, to DRF."""
    if not query:
        return ""
    prefix = ENVIRONMENT + "="
    if not query.startswith(prefix) or not _NAME.fullmatch(query[len(prefix) :]):
        return None
    return query[len(prefix) :]


def reads_own_environment(asked: str, token_environment_id: int | None) -> bool:
    """Whether a token may read the environment `asked` (by environment_to_read's rule)."""
    if not asked:
        return True  # asking none reads the token's own
    try:
        environment_to_read(asked, token_environment_id, token=True)
    except Http404:
        return False
    return True


def reading_environment(request) -> Env:
    """environment_to_read() for a request (DRF's or Django's): its ?environment= and token."""
    return environment_for(request, request.GET.get(ENVIRONMENT))


def environment_for(request, asked: str | None) -> Env:
    """The environment a request reads or changes: `asked` (?environment=, or a write's
    `environment`), else its token's; by environment_to_read's rule, so a token changes only
    the environment it reads."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return environment_to_read(asked, auth.environment_id, token=True)
    return environment_to_read(asked, None, token=False)


def ensure_bound_token_reads(request, *envs: Env) -> None:
    """404 unless a token bound to an environment (create_token --environment) reads every one
    of `envs`, by environment_to_read's rule: for what compares or copies environments (drift,
    promotion), so a staging pipeline learns nothing of production through them either.
    Tokens made without an environment and people signed in compare any two, as before."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiToken) or auth.environment_id is None:
        return
    for env in envs:
        environment_to_read(env.name, auth.environment_id, token=True)


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
