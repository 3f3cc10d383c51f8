"""Shapes of the read API's answers, for the OpenAPI document (reads.py prepares the bytes)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
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
    detail = serializers.CharField(help_text="What went wrong, in plain words.")
    errors = ValueProblemSerializer(
        many=True,
        required=False,
        help_text="Each problem with the body or the proposed value, with its JSON path.",
    )


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


_ERROR_RESPONSES = {
    304: OpenApiResponse(description="Not modified: the ETag given in If-None-Match is current."),
    400: OpenApiResponse(ValidationErrorSerializer, description="Invalid input or parameter."),
    401: OpenApiResponse(ErrorSerializer, description="No token, or a bad one."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed (role or read token)."),
    404: OpenApiResponse(
        ErrorSerializer, description="No such item (or page), or no access to it."
    ),
    409: OpenApiResponse(ErrorSerializer, description="Conflicts with the review rules."),
    413: OpenApiResponse(ErrorSerializer, description="The body is too large."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests for this token."),
}


def error_responses(*codes: int) -> dict:
    """The OpenAPI description of these error statuses, worded alike for every endpoint."""
    return {code: _ERROR_RESPONSES[code] for code in codes}
