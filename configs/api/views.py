"""The pipeline contract: live values, pinned versions, values at an instant, bundles."""

from __future__ import annotations

from datetime import UTC

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common import throttle
from configs import consumers, environments, selectors
from configs.api import previews, reads
from configs.api.access import (
    NOT_FOUND,
    annotated_access,
    ensure_namespace_readable,
    only_environment,
    readable_config,
    reading_environment,
    reads_own_environment,
)
from configs.api.authentication import may_read
from configs.api.lookup import TokenRow
from configs.api.serializers import (
    BundleSerializer,
    ConfigDocumentSerializer,
    EnvironmentSerializer,
    environment_parameter,
    error_responses,
)
from configs.environments import Env
from push.memory import remembered_bundle, remembered_token

ERRORS = error_responses(304, 400, 401, 404, 429)
# ?environment=, ?version= and ?at=: which version a read (or an evaluation) is of.
PINNING_PARAMETERS = [
    environment_parameter(),
    OpenApiParameter(
        "version",
        int,
        description="A version number: that version, not the live one (not with at).",
    ),
    OpenApiParameter(
        "at", OpenApiTypes.DATETIME, description="An ISO 8601 instant: the version live then."
    ),
]
PINNING = [
    *PINNING_PARAMETERS,
    OpenApiParameter(
        "If-None-Match", str, OpenApiParameter.HEADER, description="An ETag from an earlier answer."
    ),
]


def _json(body: bytes, etag: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    # Clients may keep it but must ask again (cheaply, with If-None-Match) before using it.
    response["Cache-Control"] = "private, no-cache"
    return response


def _not_modified(etag: str) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    return response


def _pinned_version(request, namespace: str, key: str, environment: Env) -> int:
    """The id of the version asked for with ?version= or ?at= in `environment`, after the
    access checks."""
    number, at = request.query_params.get("version"), request.query_params.get("at")
    if number is not None and at is not None:
        raise ValidationError({"detail": "Ask for either ?version= or ?at=, not both."})
    config = readable_config(request, namespace, key)
    if number is not None:
        if not (number.isascii() and number.isdigit()) or int(number) < 1:
            raise ValidationError(
                {"detail": f"version must be a whole number from 1, not {number!r}."}
            )
        version = (
            selectors.versions_of(config, environment)
            .active()
            .filter(number=int(number))
            .values("id")
            .first()
        )
        if version is None:
            raise Http404(f"{_named(config, environment)} has no version {number}.")
        return version["id"]
    try:
        instant = parse_datetime(at) if len(at) <= 64 else None
        if instant is not None and timezone.is_aware(instant):
            instant = instant.astimezone(UTC)  # year 1 at +14:00 is before the calendar starts
    except (ValueError, OverflowError):  # well-formed but impossible, like month 13
        instant = None
    if instant is None or timezone.is_naive(instant):
        raise ValidationError(
            {
                "detail": "at must be an ISO 8601 instant with a time zone, "
                f"e.g. 2026-05-01T09:00:00Z, not {at[:64]!r}."
            }
        )
    version = selectors.versions_of(config, environment).live_at(instant).values("id").first()
    if version is None:
        raise Http404(
            f"{_named(config, environment)} had no live version at {reads.timestamp(instant)}."
        )
    return version["id"]


def _named(config, environment: Env) -> str:
    """The config as answers name it in `environment` ("ns/key@staging" outside the default)."""
    return environments.labelled(str(config), environment.id)


def _live_version(request, namespace: str, key: str, environment: Env) -> int:
    """The id of the config's live version in `environment` (reading_environment's answer, so
    a token's is its own: the one its lookup found the live version in)."""
    allowed = annotated_access(request, namespace)
    if allowed is False:
        raise Http404(NOT_FOUND)
    if allowed and request.auth.live_version_id is not None:
        return request.auth.live_version_id  # the hot path: known from the token's lookup
    config = readable_config(request, namespace, key)
    version = selectors.live_version(config, environment=environment)
    if version is None:
        raise Http404(f"{_named(config, environment)} has no live version yet.")
    return version.pk


def _version_answer(request, version_id: int, bare: bool) -> HttpResponse:
    etag = reads.etag_for(version_id)
    if reads.etag_matches(request, etag):
        return _not_modified(etag)  # without reading the value at all
    prepared = reads.prepared(version_id)
    return _json(prepared.value if bare else prepared.document, etag)


def hot_token(request, namespace: str, key: str, asked: str, now) -> tuple[TokenRow, int] | None:
    """The request's bearer token (remembered_token) and the config's live version, when the
    token may read it in the environment `asked` ("" for its own) within its read limit; None
    when the DRF view must answer (and say what is wrong)."""
    try:
        token = remembered_token(request.META["HTTP_AUTHORIZATION"][7:], namespace, key, now)
    except AuthenticationFailed:
        return None
    if (
        not may_read(token)
        or token.live_version_id is None
        or not reads_own_environment(asked, token.environment_id)
        or not throttle.allows(f"t{token.id}", now.timestamp())
    ):
        return None
    return token, token.live_version_id


def with_hot_path(drf_view, *, bare: bool):
    """The read pipelines make all day, served without DRF's machinery; the rest goes to it.

    A GET with a bearer token, no parameters but the token's own ?environment=, for a live
    config the token may read: the same checks and the same answer as the DRF view, which
    serves everything else (every error included). At the rates pipelines read, DRF's request
    wrapping, negotiation and per-request classes cost as much as the database lookup itself.
    """

    def view(request, namespace: str, key: str):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        asked = only_environment(request.META.get("QUERY_STRING", ""))
        if request.method != "GET" or asked is None or not header.startswith("Bearer "):
            return drf_view(request, namespace=namespace, key=key)
        now = timezone.now()
        hot = hot_token(request, namespace, key, asked, now)
        if hot is None:
            return drf_view(request, namespace=namespace, key=key)
        token, version_id = hot
        consumers.note(token.id, namespace, key, version_id, now)
        scope = getattr(request, "scope", None)  # under ASGI: tell configs/api/hot.py
        if scope is not None:
            scope[reads.ANSWERED_HOT] = True
        return _version_answer(request, version_id, bare)

    # The same endpoint to everything that inspects views: CSRF, the OpenAPI generator.
    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.cls = drf_view.cls  # type: ignore[attr-defined]
    view.initkwargs = drf_view.initkwargs  # type: ignore[attr-defined]
    return view


def with_hot_bundle(drf_view):
    """A namespace's bundle as with_hot_path serves one config: a GET with a bearer token and no
    parameters but the token's own ?environment=, from the live versions memory keeps
    (push.memory.remembered_bundle) and the bundle's bytes this process keeps
    (configs/api/reads.py); the rest, every error included, to the DRF view.
    configs/api/hot.py answers the next such read before Django."""

    def view(request, namespace: str):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        asked = only_environment(request.META.get("QUERY_STRING", ""))
        if request.method != "GET" or asked is None or not header.startswith("Bearer "):
            return drf_view(request, namespace=namespace)
        now = timezone.now()
        try:
            token, kept = remembered_bundle(header[7:], namespace, now)
        except AuthenticationFailed:
            return drf_view(request, namespace=namespace)
        if (
            not may_read(token)
            or not reads_own_environment(asked, token.environment_id)
            or not throttle.allows(f"t{token.id}", now.timestamp())
        ):
            return drf_view(request, namespace=namespace)
        consumers.note_live(token.id, namespace, kept.live, kept.etag, now)
        scope = getattr(request, "scope", None)  # under ASGI: tell configs/api/hot.py
        if scope is not None:
            scope[reads.ANSWERED_HOT] = True
        if reads.etag_matches(request, kept.etag):
            return _not_modified(kept.etag)
        body = reads.bundle_bytes(namespace, kept.environment, kept.live, kept.etag)
        return _json(body, kept.etag)

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.cls = drf_view.cls  # type: ignore[attr-defined]
    view.initkwargs = drf_view.initkwargs  # type: ignore[attr-defined]
    return view


class ConfigRead(APIView):
    """The live version of a config (or a pinned one), with an ETag for cheap revalidation."""

    bare = False

    @extend_schema(
        operation_id="config_read",
        parameters=[*PINNING, previews.documented("this config")],
        responses={200: ConfigDocumentSerializer, **ERRORS},
    )
    def get(self, request, namespace: str, key: str):
        environment = reading_environment(request)
        if previews.wanted(request):
            return previews.config_preview(
                request, namespace, key, environment=environment, bare=self.bare
            )
        pinned = "version" in request.query_params or "at" in request.query_params
        if pinned:
            version_id = _pinned_version(request, namespace, key, environment)
        else:
            version_id = _live_version(request, namespace, key, environment)
        consumers.note_request(request, namespace, key, version_id)
        return _version_answer(request, version_id, self.bare)


class ConfigValueRead(ConfigRead):
    """The bare value of the live (or pinned) version, with the same ETag."""

    bare = True

    @extend_schema(
        operation_id="config_value_read",
        parameters=[*PINNING, previews.documented("this config")],
        responses={
            200: OpenApiResponse(OpenApiTypes.ANY, description="The value itself."),
            **ERRORS,
        },
    )
    def get(self, request, namespace: str, key: str):
        return super().get(request, namespace, key)


class NamespaceBundle(APIView):
    """Every live config of a namespace in one answer, with one ETag."""

    @extend_schema(
        operation_id="namespace_bundle",
        parameters=[PINNING[0], *PINNING[3:], previews.documented("one of its configs")],
        responses={200: BundleSerializer, **ERRORS},
    )
    def get(self, request, namespace: str):
        environment = reading_environment(request)
        ensure_namespace_readable(request, namespace)
        versions = selectors.live_version_ids(namespace=namespace, environment=environment)
        if previews.wanted(request):
            return previews.bundle_preview(request, namespace, environment, versions)
        consumers.note_bundle(request, namespace, versions)
        etag = reads.bundle_etag(versions, environment.name)
        if reads.etag_matches(request, etag):
            return _not_modified(etag)
        return _json(reads.bundle_bytes(namespace, environment.name, versions, etag), etag)


class EnvironmentList(APIView):
    """The installation's environments in promotion order (the last is the default)."""

    pagination_class = None

    @extend_schema(
        operation_id="environment_list",
        responses={200: EnvironmentSerializer(many=True), **error_responses(401, 429)},
    )
    def get(self, request):
        return Response(
            [
                {"name": env.name, "title": env.label, "position": env.position}
                for env in environments.every()
            ]
        )
