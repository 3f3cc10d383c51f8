"""Schema change requests over HTTP: propose a schema with its configs' new values, then
approve, request changes, publish or withdraw it, as for a config's change request.

They live at /api/v1/schema-change-requests/<id>/…: a schema change request is its own kind of
record (see reviews.schema_change_models), so its ids are not change request ids."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from configs.api.access import ensure_can_write
from configs.api.serializers import AnyJSONField, error_responses
from configs.models import Schema
from reviews import schema_changes
from reviews.models import SchemaChangeRequest


class SchemaChangeProposalSerializer(serializers.Serializer):
    schema = AnyJSONField(help_text="The new JSON Schema (Draft 2020-12).")
    base_version = serializers.IntegerField(help_text="The schema version it is based on.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        default=dict,
        help_text='New values by "namespace/key", for configs the defaults cannot migrate.',
    )


class SchemaVerdictSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class SchemaPublishSerializer(serializers.Serializer):
    effective_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ItemSerializer(serializers.Serializer):
    namespace = serializers.CharField(source="config.namespace.slug")
    key = serializers.CharField(source="config.key")
    base_version = serializers.IntegerField(source="base_version.number")
    value = AnyJSONField()
    migrated = serializers.BooleanField(help_text="Filled in from the schema's defaults.")
    published_version = serializers.IntegerField(
        source="published_version.number", allow_null=True, default=None
    )


class SchemaChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    schema_name = serializers.CharField(source="schema.name")
    schema = AnyJSONField(source="body")
    base_version = serializers.IntegerField(source="base_version.number")
    title = serializers.CharField()
    description = serializers.CharField()
    author = serializers.CharField(source="author.username")
    approvals = serializers.SerializerMethodField()
    missing = serializers.SerializerMethodField()
    published_version = serializers.IntegerField(
        source="published_version.number", allow_null=True, default=None
    )
    items = ItemSerializer(many=True)

    def get_approvals(self, change_request) -> list[str]:
        return [u.username for u in self.context["gate"].approvers]

    def get_missing(self, change_request) -> list[str]:
        return self.context["gate"].missing


def _find(request, pk: int) -> SchemaChangeRequest:
    change_request = (
        SchemaChangeRequest.objects.select_related("schema", "base_version", "author")
        .filter(pk=pk)
        .first()
    )
    configs = schema_changes.affected_configs(change_request) if change_request else []
    visible = set(request.user.memberships.values_list("namespace_id", flat=True))
    if change_request is None or not (
        request.user.is_superuser
        or change_request.author_id == request.user.pk
        or any(c.namespace_id in visible for c in configs)
    ):
        raise Http404("No such schema change request, or no access to it.")
    return change_request


def _answer(change_request_pk: int, code=status.HTTP_200_OK) -> Response:
    change_request = (
        SchemaChangeRequest.objects.select_related("schema", "base_version", "author")
        .prefetch_related("items__config__namespace", "items__base_version")
        .get(pk=change_request_pk)
    )
    gate = schema_changes.schema_gate(change_request)
    return Response(SchemaChangeSerializer(change_request, context={"gate": gate}).data, code)


ANSWERS = {200: SchemaChangeSerializer, **error_responses(400, 401, 403, 404, 409, 429)}


class SchemaChangeCreate(APIView):
    """Propose a new schema version with the new values of the configs it would reject."""

    @extend_schema(
        operation_id="schema_change_create",
        request=SchemaChangeProposalSerializer,
        responses={201: SchemaChangeSerializer, **error_responses(400, 401, 403, 404, 409, 413)},
    )
    def post(self, request, name: str):
        ensure_can_write(request)
        schema = get_object_or_404(Schema, name=name)
        body = SchemaChangeProposalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        change_request = schema_changes.schema_change_open(
            schema=schema,
            author=request.user,
            body=data["schema"],
            base_version=data["base_version"],
            title=data["title"],
            description=data["description"],
            values=data["values"],
        )
        return _answer(change_request.pk, status.HTTP_201_CREATED)


class SchemaChangeDetail(APIView):
    @extend_schema(operation_id="schema_change_read", responses=ANSWERS)
    def get(self, request, pk: int):
        return _answer(_find(request, pk).pk)


class SchemaChangeApprove(APIView):
    @extend_schema(
        operation_id="schema_change_approve", request=SchemaVerdictSerializer, responses=ANSWERS
    )
    def post(self, request, pk: int):
        ensure_can_write(request)
        change_request = _find(request, pk)
        data = SchemaVerdictSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schema_changes.schema_change_approve(
            change_request=change_request, reviewer=request.user, **data.validated_data
        )
        return _answer(pk)


class SchemaChangeRequestChanges(APIView):
    @extend_schema(
        operation_id="schema_change_request_changes",
        request=SchemaVerdictSerializer,
        responses=ANSWERS,
    )
    def post(self, request, pk: int):
        ensure_can_write(request)
        change_request = _find(request, pk)
        data = SchemaVerdictSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schema_changes.schema_change_request_changes(
            change_request=change_request, reviewer=request.user, **data.validated_data
        )
        return _answer(pk)


class SchemaChangePublish(APIView):
    @extend_schema(
        operation_id="schema_change_publish", request=SchemaPublishSerializer, responses=ANSWERS
    )
    def post(self, request, pk: int):
        ensure_can_write(request)
        change_request = _find(request, pk)
        data = SchemaPublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schema_changes.schema_change_publish(
            change_request=change_request, actor=request.user, **data.validated_data
        )
        return _answer(pk)


class SchemaChangeWithdraw(APIView):
    @extend_schema(operation_id="schema_change_withdraw", request=None, responses=ANSWERS)
    def post(self, request, pk: int):
        ensure_can_write(request)
        change_request = _find(request, pk)
        schema_changes.schema_change_withdraw(change_request=change_request, actor=request.user)
        return _answer(pk)
