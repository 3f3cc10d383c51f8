"""Shapes of the read API's answers, for the OpenAPI document (reads.py prepares the bytes)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers


@extend_schema_field({"description": "Any JSON value: the config's value."})
class AnyJSONField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "object"},
        "description": 'Ordered overrides: [{"name", "when": [{"attribute", "op", "values"}], '
        '"value"} or {"name", "split": {"by", "buckets": [{"percent", "value"}]}}]; the first '
        "that matches a context serves its value. [] when none.",
    }
)
class OverridesField(serializers.JSONField):
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


class PreviewedChangeRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="An open status: draft, in_review, approved, ….")
    base_version = serializers.IntegerField(
        allow_null=True, help_text="The version the proposal was based on (null for a first one)."
    )
    title = serializers.CharField()


_PREVIEW_ONLY = "Only in a preview (?change_request=): the change request whose value this is."
_NULL_IN_PREVIEW = " Null in a preview."


class ConfigDocumentSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    key = serializers.CharField()
    environment = serializers.CharField(help_text="The environment whose value this is.")
    version = serializers.IntegerField(allow_null=True, help_text=_NULL_IN_PREVIEW.strip())
    value = AnyJSONField()
    overrides = OverridesField()
    effective_at = serializers.DateTimeField(allow_null=True, help_text=_NULL_IN_PREVIEW.strip())
    published_at = serializers.DateTimeField(allow_null=True, help_text=_NULL_IN_PREVIEW.strip())
    published_by = serializers.CharField(
        allow_null=True, help_text="Username of who published it." + _NULL_IN_PREVIEW
    )
    schema = serializers.CharField(
        allow_null=True, help_text="The schema the value was checked against when published."
    )
    schema_version = serializers.IntegerField(
        allow_null=True,
        help_text="The number of the schema's version the value was checked against.",
    )
    change_request = PreviewedChangeRequestSerializer(required=False, help_text=_PREVIEW_ONLY)


class BundleEntrySerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text=_NULL_IN_PREVIEW.strip())
    value = AnyJSONField()
    overrides = OverridesField()
    effective_at = serializers.DateTimeField(allow_null=True, help_text=_NULL_IN_PREVIEW.strip())
    change_request = PreviewedChangeRequestSerializer(required=False, help_text=_PREVIEW_ONLY)


class BundleSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    environment = serializers.CharField(help_text="The environment whose values these are.")
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


def environment_parameter() -> OpenApiParameter:
    """?environment= as the OpenAPI document describes it on every read."""
    return OpenApiParameter(
        "environment",
        str,
        description=(
            "An environment's name (GET /api/v1/environments/): that environment's values. "
            "Without it, the token's environment (the default one for tokens made without one, "
            "and for people signed in). Unknown, or not the token's own → 404."
        ),
    )


class EnvironmentSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="What reads and changes call it, e.g. staging.")
    title = serializers.CharField(help_text="What people read, e.g. Staging.")
    position = serializers.IntegerField(help_text="Promotion order: the last is the default.")


def error_responses(*codes: int) -> dict:
    """The OpenAPI description of these error statuses, worded alike for every endpoint."""
    return {code: _ERROR_RESPONSES[code] for code in codes}
