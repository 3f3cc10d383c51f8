"""The OpenFeature Remote Evaluation Protocol (OFREP v0.3): every OpenFeature SDK's stock OFREP
provider reads configs as flags (configs/ofrep.py says how keys and answers are made).

- `POST /ofrep/v1/evaluate/flags/<key>`: one flag for a context;
- `POST /ofrep/v1/evaluate/flags`: every flag the token reads, with an ETag (304 when
  unchanged) and, under the ASGI server, an event stream (push/ofrep.py) that says
  `refetchEvaluation` after every publish in those namespaces.

`Authorization: Bearer <token>` as on the rest of the API: none or a bad one is a 401, a token
that reads no namespace a 403, a flag it cannot read a 404 FLAG_NOT_FOUND (as the API answers
404 for configs one cannot read). The warm single evaluation is answered before Django
(configs/api/hot.py) with the same bytes.
"""

from __future__ import annotations

from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from common import throttle
from configs import consumers, environments, ofrep, selectors
from configs.api import reads
from configs.api.authentication import may_read
from configs.services import token_hash
from push.memory import remembered_namespaces, remembered_token

INACTIVITY_DELAY_SEC = 120


def _refusal(status: int, details: str) -> JsonResponse:
    response = JsonResponse({"errorDetails": details}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def _error(error: ofrep.FlagError, key: str | None) -> JsonResponse:
    body = error.body(key) if key is not None else error.body("")
    if key is None:
        body.pop("key")
    return JsonResponse(body, status=error.status)


def _reader(request: HttpRequest, now) -> tuple | JsonResponse:
    """(token, namespaces it reads) or the 401/403/429 refusal."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _refusal(401, "Send an API token: Authorization: Bearer <token>.")
    try:
        token, namespaces = remembered_namespaces(secret.strip(), now)
    except AuthenticationFailed as exc:
        refusal = throttle.authentication_failed(request)
        if refusal is not None:
            response = _refusal(429, str(refusal.detail))
            response["Retry-After"] = str(getattr(refusal, "wait", None) or 1)
            return response
        return _refusal(401, str(exc.detail))
    if not namespaces:
        return _refusal(403, "This token reads no namespace (its scope, or its person's roles).")
    if not throttle.allows(f"t{token.id}", now.timestamp()):
        return _refusal(429, "Too many reads with this token; wait before trying again.")
    return secret.strip(), token, namespaces


@csrf_exempt
def evaluate_flag(request: HttpRequest, key: str) -> HttpResponse:
    """One flag for the request's context."""
    if request.method != "POST":
        return _refusal(405, "Evaluate a flag with POST.")
    now = timezone.now()
    reader = _reader(request, now)
    if isinstance(reader, HttpResponse):
        return reader
    secret, _token, namespaces = reader
    try:
        context = ofrep.parse_context(request.body)
        namespace, config_key = ofrep.resolve(key, namespaces)
        try:
            token = remembered_token(secret, namespace, config_key, now)
        except AuthenticationFailed as exc:  # revoked since the first look
            return _refusal(401, str(exc.detail))
        if not may_read(token) or token.live_version_id is None:
            raise ofrep.flag_not_found(key)
        flag = ofrep.flags_of([token.live_version_id])[token.live_version_id]
        body = ofrep.evaluate(flag, key, context)
    except ofrep.FlagError as error:
        return _error(error, key)
    consumers.note(token.id, namespace, config_key, flag.version_id, now)
    scope = getattr(request, "scope", None)  # under ASGI: tell configs/api/hot.py
    if scope is not None:
        scope[reads.ANSWERED_HOT] = True
    return HttpResponse(body, content_type="application/json")


def stream_ticket(secret: str) -> str:
    """What the event stream's address carries instead of the token (EventSource sends no
    headers): the token's hash, signed, so it opens that token's stream and nothing else."""
    return signing.Signer(salt=ofrep.STREAM_SALT).sign(token_hash(secret))


def _event_streams(request: HttpRequest, secret: str) -> list[dict]:
    if not isinstance(request, ASGIRequest):
        return []  # no stream under WSGI: the providers poll with the ETag instead
    url = reverse("ofrep_stream") + "?ticket=" + stream_ticket(secret)
    return [
        {
            "type": "sse",
            "url": request.build_absolute_uri(url),
            "inactivityDelaySec": INACTIVITY_DELAY_SEC,
        }
    ]


@csrf_exempt
def evaluate_flags(request: HttpRequest) -> HttpResponse:
    """Every flag the token reads, for the request's context (flagConfigEtag and
    flagConfigLastModified, sent after a stream's event, are accepted and not needed)."""
    if request.method != "POST":
        return _refusal(405, "Evaluate flags with POST.")
    now = timezone.now()
    reader = _reader(request, now)
    if isinstance(reader, HttpResponse):
        return reader
    secret, token, namespaces = reader
    try:
        context = ofrep.parse_context(request.body)
    except ofrep.FlagError as error:
        return _error(error, None)
    environment = environments.by_id(token.environment_id)  # the token's, as DESIGN says
    live = [
        (namespace, key, version_id)
        for namespace in namespaces
        for key, version_id in selectors.live_version_ids(
            namespace=namespace, environment=environment
        )
    ]
    flags = ofrep.flags_of([version_id for _ns, _key, version_id in live])
    named = [
        (ofrep.flag_key(namespace, key, namespaces), flags[version_id])
        for namespace, key, version_id in live
    ]
    streams = _event_streams(request, secret)
    etag = ofrep.bulk_etag(named, context, bool(streams))
    for namespace, key, version_id in live:
        consumers.note(token.id, namespace, key, version_id, now)
    if reads.etag_matches(request, etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(
            ofrep.bulk_body(named, context, streams), content_type="application/json"
        )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
