"""Schemas over HTTP: read one (its newest version or a pinned one)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from configs import selectors
from configs.api.serializers import AnyJSONField, error_responses
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
        "created_by": version.created_by.username if version.created_by_id else None,
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
