"""Shapes of the read API's answers, for the OpenAPI document (reads.py prepares the bytes)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"description": "Any JSON value: the config's value."})
class AnyJSONField(serializers.JSONField):
    pass


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in plain words.")


class ValueProblemSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="JSON Pointer to the problem, e.g. /companies/3/timezone."
    )
    message = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ValueProblemSerializer(many=True)


class ConfigDocumentSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    key = serializers.CharField()
    version = serializers.IntegerField()
    value = AnyJSONField()
    effective_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField()
    published_by = serializers.CharField(help_text="Username of who published it.")
    schema = serializers.CharField(
        allow_null=True, help_text="The schema the value was checked against when published."
    )


class BundleEntrySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    value = AnyJSONField()
    effective_at = serializers.DateTimeField()


class BundleSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    configs = serializers.DictField(child=BundleEntrySerializer(), help_text="By config key.")
