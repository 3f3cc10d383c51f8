"""New configs over HTTP: version 1 passes the namespace's review policy like any change."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from configs.api.access import NO_NAMESPACE, ensure_can_write, ensure_readable
from configs.api.serializers import AnyJSONField, OverridesField, error_responses
from configs.models import Namespace, Schema
from reviews.new_configs import config_propose


class NewConfigSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=100, help_text="A slug, unique in the namespace.")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    schema = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="A schema name, or null."
    )
    value = AnyJSONField(help_text="Version 1's value.")
    overrides = OverridesField(
        required=False,
        help_text="Version 1's overrides, with the value in every environment. Left out: none.",
    )
    owners = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Usernames; the creator when left out.",
    )
    title = serializers.CharField(max_length=200, help_text="Why, in one line.")


def schema_and_owners(data: dict) -> tuple[Schema | None, list | None]:
    """A new config's schema (by name) and owners (by username), or 400 naming what is
    unknown."""
    schema = None
    if data["schema"]:
        schema = Schema.objects.filter(name=data["schema"]).first()
        if schema is None:
            raise ValidationError({"schema": [f"No schema is named {data['schema']!r}."]})
    owners = None
    if data["owners"] is not None:
        owners = list(get_user_model().objects.filter(username__in=data["owners"]))
        unknown = sorted(set(data["owners"]) - {u.username for u in owners})
        if unknown:
            raise ValidationError({"owners": [f"No such person: {', '.join(unknown)}."]})
    return schema, owners


class NewConfigAnswerSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    key = serializers.CharField()
    version = serializers.IntegerField(
        allow_null=True, help_text="1 when published at once; null while version 1 is in review."
    )
    change_request = serializers.IntegerField(help_text="The change request of version 1.")


class NewConfig(APIView):
    """Create a config; its first value is published at once or goes to review."""

    @extend_schema(
        operation_id="config_create",
        request=NewConfigSerializer,
        responses={
            201: NewConfigAnswerSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request, namespace: str):
        found = Namespace.objects.filter(slug=namespace).first()
        if found is None:
            raise Http404(NO_NAMESPACE)
        ensure_readable(request, found, NO_NAMESPACE)
        ensure_can_write(request)
        body = NewConfigSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        schema, owners = schema_and_owners(data)
        created = config_propose(
            namespace=found,
            key=data["key"],
            name=data["name"],
            description=data["description"],
            schema=schema,
            value=data["value"],
            overrides=data.get("overrides"),
            owners=owners,
            actor=request.user,
            title=data["title"],
        )
        version = created.version
        return Response(
            {
                "namespace": found.slug,
                "key": created.config.key,
                "version": version.number if version else None,
                "change_request": created.change_request.pk,
            },
            status=status.HTTP_201_CREATED,
        )
