"""Schemas over HTTP: read one (its newest version or a pinned one), propose one from an
example, add one."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from configs import selectors, services
from configs.api.access import ensure_can_write
from configs.api.serializers import AnyJSONField, error_responses
from configs.inference import infer_schema
from configs.models import SchemaVersion


class SchemaDocumentSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField(help_text="The schema version's number.")
    schema = AnyJSONField(help_text="The JSON Schema (Draft 2020-12) of that version.")
    title = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(help_text="When this version was made.")
    created_by = serializers.CharField(allow_null=True, help_text="Who made it (null: the system).")
    reason = serializers.CharField(allow_blank=True, help_text="Why it was made.")
    configs = serializers.IntegerField(help_text="How many configs use the schema.")


def schema_document(version: SchemaVersion, configs: int) -> dict:
    schema = version.schema
    return {
        "name": schema.name,
        "version": version.number,
        "schema": version.body,
        "title": schema.title,
        "description": schema.description,
        "created_at": serializers.DateTimeField().to_representation(version.created_at),
        "created_by": version.created_by.username if version.created_by else None,
        "reason": version.reason,
        "configs": configs,
    }


class SchemaRead(APIView):
    """A schema's newest version, or the version asked for with ?version=N."""

    @extend_schema(
        operation_id="schema_read",
        parameters=[OpenApiParameter("version", int, description="A schema version number.")],
        responses={200: SchemaDocumentSerializer, **error_responses(400, 401, 404, 429)},
    )
    def get(self, request, name: str):
        number = request.query_params.get("version")
        if number is not None and not (number.isascii() and number.isdigit() and len(number) < 10):
            raise ValidationError(
                {"detail": f"version must be a whole number from 1, not {number[:20]!r}."}
            )
        version = selectors.schema_version(name=name, number=int(number) if number else None)
        if version is None:
            raise Http404(
                f"Schema {name} has no version {number}." if number else "No such schema."
            )
        return Response(schema_document(version, selectors.schema_config_count(version.schema)))


class InferSerializer(serializers.Serializer):
    example = AnyJSONField(help_text="A value like the ones the configs will hold.")


class InferredSerializer(serializers.Serializer):
    schema = AnyJSONField(help_text="A Draft 2020-12 schema that accepts the example.")


class SchemaInfer(APIView):
    """Propose a schema from an example value (nothing is saved)."""

    @extend_schema(
        operation_id="schema_infer",
        request=InferSerializer,
        responses={200: InferredSerializer, **error_responses(400, 401, 413, 429)},
    )
    def post(self, request):
        if not isinstance(request.data, dict) or "example" not in request.data:
            raise ValidationError({"example": ['Send the example value as {"example": …}.']})
        return Response({"schema": infer_schema(request.data["example"])})


class NewSchemaSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    schema = AnyJSONField(help_text="A JSON Schema (Draft 2020-12).")


class SchemaCreate(APIView):
    """Add a schema (namespace admins); it starts at version 1."""

    @extend_schema(
        operation_id="schema_create",
        request=NewSchemaSerializer,
        responses={
            201: SchemaDocumentSerializer,
            **error_responses(400, 401, 403, 409, 413, 429),
        },
    )
    def post(self, request):
        ensure_can_write(request)
        body = NewSchemaSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            schema = services.schema_create(
                name=data["name"],
                body=data["schema"],
                actor=request.user,
                title=data["title"],
                description=data["description"],
            )
        except DjangoValidationError as exc:
            # The service speaks of the schema's "body"; this endpoint calls it "schema".
            raise ValidationError(
                {"schema" if f == "body" else f: m for f, m in exc.message_dict.items()}
            ) from exc
        version = schema.versions.select_related("schema", "created_by").get(number=1)
        return Response(schema_document(version, 0), status=status.HTTP_201_CREATED)
