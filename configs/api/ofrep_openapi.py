"""OFREP in the OpenAPI document (/api/schema/): the OpenFeature endpoints are plain Django views
(configs/api/ofrep.py, push/ofrep.py), which drf-spectacular does not see, so this hook adds
what they accept and answer. It describes them only: what they do is in those modules, and
schemathesis checks the server against this description (.ci/schemathesis)."""

from __future__ import annotations

from typing import Any

from config_console_client import evaluation as engine

_REF = "#/components/schemas/"

_CONTEXT = {
    "type": "object",
    "description": "The evaluation context: attributes overrides match on (e.g. company), and "
    "targetingKey, which splits put in buckets.",
    "properties": {"targetingKey": {"type": "string"}},
    "additionalProperties": True,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "OfrepEvaluationRequest": {
        "type": "object",
        "description": "An empty body is an empty context.",
        "properties": {"context": {"$ref": _REF + "OfrepContext"}},
    },
    "OfrepContext": _CONTEXT,
    "OfrepMetadata": {
        "type": "object",
        "description": "Where the value comes from.",
        "properties": {
            "namespace": {"type": "string"},
            "version": {"type": "integer", "description": "The published version."},
            "environment": {"type": "string", "description": "The token's environment."},
        },
        "required": ["namespace", "version", "environment"],
    },
    "OfrepEvaluationSuccess": {
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "The flag key, as it was asked for."},
            "value": {"description": "The value the context gets (any JSON)."},
            "reason": {
                "type": "string",
                "enum": [engine.STATIC, engine.TARGETING_MATCH, engine.SPLIT, engine.DEFAULT],
                "description": "STATIC: the config has no overrides; TARGETING_MATCH: an "
                "override matched (variant: its name); SPLIT: a split's bucket; DEFAULT: none "
                "matched.",
            },
            "variant": {
                "type": "string",
                "description": 'The matching override\'s name, "<name>/<bucket>" for a split, '
                'or "default".',
            },
            "metadata": {"$ref": _REF + "OfrepMetadata"},
        },
        "required": ["key", "value", "reason", "variant", "metadata"],
    },
    "OfrepEvaluationFailure": {
        "type": "object",
        "description": "A flag that has no value for this context, or no such flag.",
        "properties": {
            "key": {"type": "string"},
            "errorCode": {
                "type": "string",
                "enum": [
                    "FLAG_NOT_FOUND",
                    "PARSE_ERROR",
                    engine.INVALID_CONTEXT,
                    engine.TARGETING_KEY_MISSING,
                ],
            },
            "errorDetails": {"type": "string", "description": "What went wrong, in words."},
        },
        "required": ["key", "errorCode", "errorDetails"],
    },
    "OfrepBulkFailure": {
        "type": "object",
        "description": "A body that cannot be read: no flag is evaluated.",
        "properties": {
            "errorCode": {"type": "string", "enum": ["PARSE_ERROR", engine.INVALID_CONTEXT]},
            "errorDetails": {"type": "string"},
        },
        "required": ["errorCode", "errorDetails"],
    },
    "OfrepRefusal": {
        "type": "object",
        "description": "No token, a bad one, one that reads nothing, or too many requests.",
        "properties": {"errorDetails": {"type": "string"}},
        "required": ["errorDetails"],
    },
    "OfrepBulkEvaluation": {
        "type": "object",
        "properties": {
            "flags": {
                "type": "array",
                "description": "Every flag the token reads: its value, or its error in place.",
                "items": {
                    "anyOf": [
                        {"$ref": _REF + "OfrepEvaluationSuccess"},
                        {"$ref": _REF + "OfrepEvaluationFailure"},
                    ]
                },
            },
            "metadata": {"type": "object"},
            "eventStreams": {
                "type": "array",
                "description": "Under the ASGI server: where to hear that flags changed.",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": ["sse"]},
                        "url": {"type": "string", "format": "uri"},
                        "inactivityDelaySec": {"type": "integer"},
                    },
                    "required": ["type", "url", "inactivityDelaySec"],
                },
            },
        },
        "required": ["flags", "metadata"],
    },
}


def _json(schema: str | dict, description: str) -> dict:
    ref = {"$ref": _REF + schema} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": ref}}}


# An address under /ofrep/ that names no endpoint is the API's JSON 404 ({"detail": …}).
_NOT_FOUND = {"anyOf": [{"$ref": _REF + "OfrepEvaluationFailure"}, {"$ref": _REF + "Error"}]}
_REFUSALS = {
    "401": _json("OfrepRefusal", "No token, or not a valid one."),
    "403": _json("OfrepRefusal", "The token reads no namespace."),
    "429": _json("OfrepRefusal", "Too many requests: wait before trying again."),
}
_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {"$ref": _REF + "OfrepEvaluationRequest"}}},
}
_SECURITY = [{"bearerToken": []}]

PATHS: dict[str, dict[str, Any]] = {
    "/ofrep/v1/evaluate/flags/{key}": {
        "post": {
            "operationId": "ofrep_evaluate_flag",
            "summary": "OpenFeature (OFREP): one flag for a context",
            "description": "A flag is a config the token reads, named <namespace>.<key> (or its "
            "bare key when the token reads one namespace), in the token's environment.",
            "tags": ["ofrep"],
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The flag key: <namespace>.<key>, or <key>.",
                }
            ],
            "requestBody": _BODY,
            "security": _SECURITY,
            "responses": {
                "200": _json("OfrepEvaluationSuccess", "What the context gets."),
                "400": _json(
                    "OfrepEvaluationFailure",
                    "The body or context cannot be read, or a split needs a targetingKey.",
                ),
                **_REFUSALS,
                "404": _json(_NOT_FOUND, "No such flag, or the token does not read it."),
            },
        }
    },
    "/ofrep/v1/evaluate/flags": {
        "post": {
            "operationId": "ofrep_evaluate_flags",
            "summary": "OpenFeature (OFREP): every flag the token reads, for a context",
            "tags": ["ofrep"],
            "parameters": [
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The ETag of an earlier answer: 304 while it still holds.",
                }
            ],
            "requestBody": _BODY,
            "security": _SECURITY,
            "responses": {
                "200": {
                    **_json("OfrepBulkEvaluation", "Every flag's answer."),
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                },
                "304": {
                    "description": "Unchanged since the ETag sent.",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                },
                "400": _json("OfrepBulkFailure", "The body or context cannot be read."),
                **_REFUSALS,
            },
        }
    },
    "/ofrep/v1/stream": {
        "get": {
            "operationId": "ofrep_stream",
            "summary": "OpenFeature (OFREP): the event stream a bulk evaluation names",
            "description": 'Server-sent events: data: {"type": "refetchEvaluation", "etag", '
            '"lastModified"} after every publish in the namespaces the token reads. Its address '
            "(with the ticket) comes from the bulk evaluation's eventStreams.",
            "tags": ["ofrep"],
            "parameters": [
                {
                    "name": "ticket",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The signed ticket in the address eventStreams gives.",
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Resume after this event.",
                },
            ],
            "security": [],
            "responses": {
                "200": {
                    "description": "The stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "401": _json("OfrepRefusal", "Not a valid ticket, or its token no longer is."),
                "503": _json("OfrepRefusal", "Not served by the WSGI server: poll instead."),
            },
        }
    },
}


def describe_ofrep(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: add the OFREP endpoints and their schemas."""
    result.setdefault("paths", {}).update(PATHS)
    result.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    return result
