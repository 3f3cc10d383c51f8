"""Evaluations: what a context (a customer, a user, a host) gets from a config or from every
config of a namespace, by the overrides of the live version.

The rules are the client's own (config_console_client.evaluation), so a pipeline evaluating
locally from a read's `value` and `overrides` gets the same answer. The live versions are found
as the reads find them and their prepared bytes reused: a context that gets the plain value is
answered with the value's bytes as stored, without parsing it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from config_console_client.evaluation import (
    INVALID_CONTEXT,
    REQUEST_PATTERN_SECONDS,
    Evaluation,
    evaluate,
    pattern_budget,
)
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from common.errors import DomainError
from common.kept import KeptByBody
from configs import consumers, ofrep, selectors
from configs.api import previews, reads
from configs.api.access import ensure_namespace_readable, only_environment, reading_environment
from configs.api.serializers import AnyJSONField, environment_parameter, error_responses
from configs.api.views import PINNING_PARAMETERS, _live_version, _pinned_version, hot_token
from configs.models import canonical_json


class ContextRefused(DomainError):
    """A context that cannot be evaluated: not an object, or lacking the targetingKey a split
    needs. `code` is OFREP's error code."""

    status = 400

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code

    def api_fields(self) -> dict[str, Any]:
        return {"code": self.code}


# Only documents the body (`context` would shadow a serializer's own `context`).
EVALUATE_REQUEST = inline_serializer(
    name="EvaluateRequest",
    fields={
        "context": serializers.DictField(
            required=False,
            help_text="Who asks: {targetingKey?, <attribute>: …}, matched against the overrides.",
        )
    },
)


class EvaluationSerializer(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField(
        allow_null=True, help_text="null when evaluating a change request's proposal."
    )
    value = AnyJSONField(help_text="What this context gets.")
    variant = serializers.CharField(
        help_text='The matching override\'s name (a split\'s: "<name>/<bucket>"), or "default".'
    )
    reason = serializers.CharField(
        help_text="STATIC (no overrides), TARGETING_MATCH, SPLIT or DEFAULT."
    )


class NamespaceEvaluationSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    configs = serializers.DictField(
        child=EvaluationSerializer(),
        help_text="By config key. A config whose split needs a targetingKey the context lacks "
        'answers its value with reason "ERROR" and `code` TARGETING_KEY_MISSING.',
    )


def _context(request) -> dict:
    return _context_of(request.data)


def _context_of(body: Any) -> dict:
    """The context of a parsed request body; ContextRefused when it has none."""
    if not isinstance(body, dict):
        raise ContextRefused('The body must be a JSON object: {"context": {…}}.', INVALID_CONTEXT)
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise ContextRefused(
            'The context must be a JSON object, e.g. {"company": "globex"}.', INVALID_CONTEXT
        )
    return context


def _evaluated(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    # What a context gets is not the version's document: no ETag, kept by nobody.
    response["Cache-Control"] = "no-store"
    return response


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # as DRF's strict JSON parser refuses it


# An evaluation request as plain_context reads it: Content-Type, Content-Length, the body.
Plain = tuple[str | None, str | None, bytes]


def plain_context(content_type: str | None, content_length: str | None, body: bytes) -> dict | None:
    """The context of an evaluate request's body, parsed as DRF's JSON parser parses it, when
    the body is plain: JSON (`Content-Type: application/json`, its Content-Length given: DRF
    reads no body without one) holding an object whose `context`, if any, is an object. None
    for anything else (another type, an empty body, bad JSON, other shapes): DRF parses those
    and says what is wrong."""
    if content_type != "application/json" or not body or content_length != str(len(body)):
        return None
    return _plain_body(body)


# DRF's strict parse, as one decoder (json.loads with an option makes one per call).
_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)


def _parse_plain(body: bytes) -> dict | None:
    try:
        return _context_of(_STRICT.decode(body.decode("utf-8")))
    except (ValueError, RecursionError, ContextRefused):  # UnicodeDecodeError is a ValueError
        return None


# Pipelines send the same few contexts again and again: their parses are kept by body (asked
# only once the token is known to read the config).
_plain_body = KeptByBody(_parse_plain)


_UNPARSED = object()  # the version's value, left as its stored bytes


def _overrides(prepared: reads.Prepared) -> list:
    return json.loads(prepared.overrides) if prepared.overrides != b"[]" else []


def answer_without_patterns(key: str, prepared: reads.Prepared, context: dict) -> bytes | None:
    """The answer's bytes when the version's overrides run no `matches` pattern (which may take
    up to its timeout) and the context gets a value; None when Django must answer. For the
    event loop (configs/api/hot.py): the overrides are parsed once per version, not per request."""
    overrides, with_patterns = _parsed_overrides(prepared.overrides)
    if with_patterns:
        return None
    result, body = _answer(key, prepared.number, prepared.value, overrides, context)
    return body if result.error is None else None


# A few hundred versions' overrides, parsed: the hot path evaluates the same live versions all
# day. The lists are shared: evaluation only reads them.
@lru_cache(maxsize=512)
def _parsed_overrides(overrides: bytes) -> tuple[list, bool]:
    parsed = json.loads(overrides) if overrides != b"[]" else []
    return parsed, ofrep.uses_patterns(parsed)


@lru_cache(maxsize=4096)
def _answer_head(key: str, number: int | None) -> bytes:
    return reads.compact({"key": key, "version": number})[:-1].encode()


@lru_cache(maxsize=1024)
def _answer_tail(variant: str, reason: str) -> bytes:
    return reads.compact({"variant": variant, "reason": reason})[1:].encode()


def _answer(
    key: str, number: int | None, value_bytes: bytes, overrides: list, context: dict
) -> tuple[Evaluation, bytes]:
    """The evaluation of a value (its bytes) and overrides, and the bytes of its answer
    {key, version, value, variant, reason}."""
    result = evaluate(key, _UNPARSED, overrides, context)
    value = value_bytes if result.value is _UNPARSED else reads.compact(result.value).encode()
    if result.error is None:
        tail = _answer_tail(result.variant, result.reason)
    else:
        details = {"variant": result.variant, "reason": result.reason}
        details |= {"code": result.error.code, "detail": result.error.details}
        tail = reads.compact(details)[1:].encode()
    return result, _answer_head(key, number) + b',"value":' + value + b"," + tail


class ConfigEvaluate(APIView):
    """What a context gets from the live version of a config: its value, or the value of the
    first override matching the context."""

    reads_only = True  # a read over POST: throttled as reads are

    @extend_schema(
        operation_id="config_evaluate",
        parameters=[*PINNING_PARAMETERS, previews.documented("this config")],
        request=EVALUATE_REQUEST,
        responses={200: EvaluationSerializer, **error_responses(400, 401, 404, 429)},
    )
    def post(self, request, namespace: str, key: str):
        context = _context(request)
        environment = reading_environment(request)
        if previews.wanted(request):
            change = previews.proposed_change(request, namespace, key, environment)
            value = canonical_json(change.value).encode()
            result, body = _answer(key, None, value, change.overrides or [], context)
            _refuse_failed(result)
            return previews.marked(_evaluated(body), change.change_request)
        if "version" in request.query_params or "at" in request.query_params:
            version_id = _pinned_version(request, namespace, key, environment)
        else:
            version_id = _live_version(request, namespace, key, environment)
        prepared = reads.prepared(version_id)
        result, body = _answer(key, prepared.number, prepared.value, _overrides(prepared), context)
        _refuse_failed(result)
        consumers.note_request(request, namespace, key, version_id)
        return _evaluated(body)


def _refuse_failed(result: Evaluation) -> None:
    if result.error is not None:
        raise ContextRefused(result.error.details, result.error.code)


def with_hot_evaluate(drf_view):
    """The evaluations pipelines make all day, as with_hot_path serves reads: a POST with a
    bearer token, a plain JSON body (plain_context) and no parameters but the token's own
    ?environment=, for a live config the token may read, answered without DRF's machinery, the
    token and live version from memory when the feed allows (push.memory.remembered_token).
    The rest, every error included, to the DRF view. configs/api/hot.py answers the next such
    evaluation before Django."""

    def view(request, namespace: str, key: str):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        asked = only_environment(request.META.get("QUERY_STRING", ""))
        if request.method != "POST" or asked is None or not header.startswith("Bearer "):
            return drf_view(request, namespace=namespace, key=key)
        try:
            sent = request.body
        except RequestDataTooBig:
            return drf_view(request, namespace=namespace, key=key)
        meta = request.META
        now = timezone.now()
        hot = hot_token(request, namespace, key, asked, now)
        if hot is None:
            return drf_view(request, namespace=namespace, key=key)
        # Parsed (and its parse kept) only for a token that may read the config.
        context = plain_context(meta.get("CONTENT_TYPE"), meta.get("CONTENT_LENGTH"), sent)
        if context is None:
            return drf_view(request, namespace=namespace, key=key)
        token, version_id = hot
        prepared = reads.prepared(version_id)
        overrides = _overrides(prepared)
        result, body = _answer(key, prepared.number, prepared.value, overrides, context)
        if result.error is not None:
            return drf_view(request, namespace=namespace, key=key)  # which says what is wrong
        consumers.note(token.id, namespace, key, version_id, now)
        scope = getattr(request, "scope", None)  # under ASGI: tell configs/api/hot.py
        if scope is not None:
            scope[reads.ANSWERED_HOT] = True
        return _evaluated(body)

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.cls = drf_view.cls  # type: ignore[attr-defined]
    view.initkwargs = drf_view.initkwargs  # type: ignore[attr-defined]
    return view


class NamespaceEvaluate(APIView):
    """What a context gets from every live config of a namespace."""

    reads_only = True

    @extend_schema(
        operation_id="namespace_evaluate",
        parameters=[environment_parameter()],
        request=EVALUATE_REQUEST,
        responses={200: NamespaceEvaluationSerializer, **error_responses(400, 401, 404, 429)},
    )
    def post(self, request, namespace: str):
        context = _context(request)
        environment = reading_environment(request)
        ensure_namespace_readable(request, namespace)
        live = selectors.live_version_ids(namespace=namespace, environment=environment)
        prepared = reads.prepared_many([version_id for _key, version_id in live])
        parts = []
        # The namespace's patterns share one budget: a namespace of many configs with slow
        # patterns cannot hold the worker for a budget per config.
        with pattern_budget(REQUEST_PATTERN_SECONDS):
            for key, version_id in live:
                version = prepared[version_id]
                _result, body = _answer(
                    key, version.number, version.value, _overrides(version), context
                )
                parts.append(reads.compact(key).encode() + b":" + body)
        consumers.note_bundle(request, namespace, live)
        body = (
            b'{"namespace":'
            + reads.compact(namespace).encode()
            + b',"configs":{'
            + b",".join(parts)
            + b"}}"
        )
        return _evaluated(body)
