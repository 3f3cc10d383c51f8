"""Evaluations: what a context (a customer, a user, a host) gets from a config or from every
config of a namespace, by the overrides of the live version.

The rules are the client's own (config_console_client.evaluation), so a pipeline evaluating
locally from a read's `value` and `overrides` gets the same answer. The live versions are found
as the reads find them and their prepared bytes reused: a context that gets the plain value is
answered with the value's bytes as stored, without parsing it.
"""

from __future__ import annotations

import json
from typing import Any

from config_console_client.evaluation import (
    INVALID_CONTEXT,
    REQUEST_PATTERN_SECONDS,
    Evaluation,
    evaluate,
    pattern_budget,
)
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from common.errors import DomainError
from configs import consumers, selectors
from configs.api import reads
from configs.api.access import ensure_namespace_readable, reading_environment
from configs.api.serializers import AnyJSONField, environment_parameter, error_responses
from configs.api.views import _live_version


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
    version = serializers.IntegerField()
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
    body = request.data
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


_UNPARSED = object()  # the version's value, left as its stored bytes


def _answer(key: str, prepared: reads.Prepared, context: dict) -> tuple[Evaluation, bytes]:
    """The evaluation, and the bytes of its answer {key, version, value, variant, reason}."""
    overrides = json.loads(prepared.overrides) if prepared.overrides != b"[]" else []
    result = evaluate(key, _UNPARSED, overrides, context)
    value = prepared.value if result.value is _UNPARSED else reads.compact(result.value).encode()
    head = reads.compact({"key": key, "version": prepared.number})[:-1].encode()
    tail = {"variant": result.variant, "reason": result.reason}
    if result.error is not None:
        tail |= {"code": result.error.code, "detail": result.error.details}
    return result, head + b',"value":' + value + b"," + reads.compact(tail)[1:].encode()


class ConfigEvaluate(APIView):
    """What a context gets from the live version of a config: its value, or the value of the
    first override matching the context."""

    reads_only = True  # a read over POST: throttled as reads are

    @extend_schema(
        operation_id="config_evaluate",
        parameters=[environment_parameter()],
        request=EVALUATE_REQUEST,
        responses={200: EvaluationSerializer, **error_responses(400, 401, 404, 429)},
    )
    def post(self, request, namespace: str, key: str):
        context = _context(request)
        environment = reading_environment(request)
        version_id = _live_version(request, namespace, key, environment)
        prepared = reads.prepared(version_id)
        result, body = _answer(key, prepared, context)
        if result.error is not None:
            raise ContextRefused(result.error.details, result.error.code)
        consumers.note_request(request, namespace, key, version_id)
        return _evaluated(body)


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
                _result, body = _answer(key, prepared[version_id], context)
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
