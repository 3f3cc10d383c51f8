"""Previews: an open change request's proposed value, read like a live one (`?change_request=`).

A pipeline or notebook points at a proposal and runs unchanged before anyone approves it. A
preview is built for each request from the change request itself: it never enters the caches
that serve live reads (those hold published versions only), and it is never recorded as the
version a consumer reads.
"""

from __future__ import annotations

import hashlib
import json

from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from configs.api import reads
from configs.api.access import ensure_readable, readable_config
from configs.environments import Env
from configs.models import Config, canonical_json
from reviews.models import Change, ChangeRequest
from reviews.previews import can_preview

PARAMETER = "change_request"
HEADER = "Config-Preview"


def documented(of: str) -> OpenApiParameter:
    """The parameter as the OpenAPI document describes it, on a read of `of`."""
    return OpenApiParameter(
        PARAMETER,
        int,
        description=(
            f"A preview: the proposed value of an open change request of {of} instead of the "
            "published one (`version` is null, `change_request` says which proposal; header "
            f"`{HEADER}: change-request=<id>`; its own ETag). A draft only for its author; "
            "closed change requests and those of other configs answer 404. Not with version "
            "or at."
        ),
    )


def wanted(request) -> bool:
    """Whether the request asks for a preview (the one line the read views call)."""
    return PARAMETER in request.query_params


def _number(request) -> int:
    if "version" in request.query_params or "at" in request.query_params:
        raise ValidationError(
            {"detail": "Ask for either a preview (?change_request=) or ?version= / ?at=."}
        )
    raw = request.query_params[PARAMETER]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < 1:
        raise ValidationError(
            {"detail": f"change_request must be a change request number, not {raw[:40]!r}."}
        )
    return int(raw)


def _open_changes(request, number: int, environment: Env, **where) -> list[Change]:
    """The open change request's changes to the configs `where` names in `environment` (a new
    config's first value is in every one), or 404: closed, unknown, of other configs or
    environments, or someone else's draft all look alike, so a preview tells nothing about
    change requests one may not read."""
    changes = list(
        Change.objects.select_related(
            "change_request", "config__namespace", "config__schema", "base_version"
        )
        .filter(change_request=number, change_request__status__in=ChangeRequest.OPEN, **where)
        .filter(Q(environment_id=environment.id) | Q(environment__isnull=True))
        .order_by("config__key")
    )
    missing = f"No open change request {number} of this config, or no access to it."
    if not changes or not can_preview(request.user, changes[0].change_request):
        raise Http404(missing)
    # A change request that also changes configs the request may not read is not shown.
    for namespace in changes[0].change_request.namespaces:
        ensure_readable(request, namespace, missing)
    return changes


def _about(change: Change) -> dict:
    change_request = change.change_request
    return {
        "id": change_request.pk,
        "status": change_request.status,
        "base_version": change.base_version_number,
        "title": change_request.title,
    }


def _compact(data) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _schema_version(config: Config) -> int | None:
    """The number of the schema version the proposal is checked against: the newest."""
    if not config.schema_id:
        return None
    return config.schema.versions.order_by("-number").values_list("number", flat=True).first()


def _document(config: Config, environment: Env, change: Change) -> bytes:
    value = canonical_json(change.value).encode()
    head = _compact(
        {
            "namespace": config.namespace.slug,
            "key": config.key,
            "environment": environment.name,
            "version": None,
        }
    )
    rest = _compact(
        {
            "effective_at": None,
            "published_at": None,
            "published_by": None,
            "schema": config.schema.name if config.schema_id else None,
            "schema_version": _schema_version(config),
            "change_request": _about(change),
        }
    )
    return head[:-1] + b',"value":' + value + _overrides(change) + b"," + rest[1:]


def _overrides(change: Change) -> bytes:
    return b',"overrides":' + canonical_json(change.overrides or []).encode()


def _entry(change: Change) -> bytes:
    value = canonical_json(change.value).encode()
    about = _compact({"change_request": _about(change)})
    return (
        b'{"version":null,"value":'
        + value
        + _overrides(change)
        + b',"effective_at":null,'
        + about[1:]
    )


def _answer(request, change_request: ChangeRequest, body: bytes) -> HttpResponse:
    # The tag is the answer's own digest: any edit, status change or new live value moves it,
    # and it can never equal a live version's tag.
    etag = f'"p{change_request.pk}-{hashlib.sha256(body).hexdigest()[:24]}"'
    if reads.etag_matches(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
        response["Cache-Control"] = "private, no-cache"
    response["ETag"] = etag
    return marked(response, change_request)


def marked(response: HttpResponse, change_request: ChangeRequest) -> HttpResponse:
    """The answer, saying which change request's proposal it shows."""
    response[HEADER] = f"change-request={change_request.pk}"
    return response


def proposed_change(request, namespace: str, key: str, environment: Env) -> Change:
    """The change the request's ?change_request= proposes to the config in `environment`: 400
    for a malformed number, 404 for a config the request may not read or a change request it
    may not preview (see _open_changes)."""
    number = _number(request)
    config = readable_config(request, namespace, key)
    (change,) = _open_changes(request, number, environment, config=config)
    return change


def config_preview(
    request, namespace: str, key: str, *, environment: Env, bare: bool
) -> HttpResponse:
    """The config read (or its bare value) in `environment` with the change request's proposal
    there as the value."""
    change = proposed_change(request, namespace, key, environment)
    config = change.config
    if bare:
        body = canonical_json(change.value).encode()
    else:
        body = _document(config, environment, change)
    return _answer(request, change.change_request, body)


def bundle_preview(
    request, namespace: str, environment: Env, live: list[tuple[str, int]]
) -> HttpResponse:
    """The namespace's bundle of live values in `environment` with the change request's
    proposals there for its configs applied over them (called after the namespace's access
    check, with its live versions)."""
    number = _number(request)
    changes = _open_changes(request, number, environment, config__namespace__slug=namespace)
    previewed = {change.config.key: change for change in changes}
    prepared = reads.prepared_many([version_id for key, version_id in live if key not in previewed])
    entries = {key: prepared[version_id].entry for key, version_id in live if key not in previewed}
    for key, change in previewed.items():
        entries[key] = _entry(change)  # also for a config not yet published
    parts = [_compact(key) + b":" + entries[key] for key in sorted(entries)]
    head = _compact({"namespace": namespace, "environment": environment.name})[:-1]
    body = head + b',"configs":{' + b",".join(parts) + b"}}"
    return _answer(request, changes[0].change_request, body)
