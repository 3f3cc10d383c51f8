"""Schema change requests over HTTP: propose a schema with its configs' new values here; then
read, approve, request changes, publish or withdraw it at the change request addresses
(`/api/v1/change-requests/<id>/…`), whose views hand a schema change's id to the functions
below (both kinds share their numbers: reviews.models.ChangeRequestNumber)."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from configs import access
from configs.api.access import ensure_can_write, in_scope, token_of
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


class SchemaChangeEditSerializer(serializers.Serializer):
    schema = AnyJSONField(required=False, help_text="Another proposed schema.")
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        default=dict,
        help_text='New values by "namespace/key"; values given before are kept for the others.',
    )
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if "value" in self.initial_data:
            raise serializers.ValidationError(
                {
                    "value": "A schema change request carries a schema and one value per "
                    'config: send "schema", or "values" by "namespace/key".'
                }
            )
        return attrs


def item_rows(change_request: SchemaChangeRequest) -> QuerySet:
    """Each item as a plain row, by namespace and key: a schema thousands of configs use gives
    thousands of items, and reading them as model instances with their configs and versions
    (each version's value parsed for nothing) took seconds."""
    return change_request.items.order_by("config__namespace__slug", "config__key").values(
        "value",
        "migrated",
        namespace=F("config__namespace__slug"),
        key=F("config__key"),
        base_number=F("base_version__number"),
        published_number=F("published_version__number"),
    )


class ItemRowsSerializer(serializers.ListSerializer):
    """A schema change's items (given the schema change), read by `item_rows`."""

    def to_representation(self, data):
        return super().to_representation(item_rows(data))


class ItemSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    key = serializers.CharField()
    base_version = serializers.IntegerField(source="base_number")
    value = AnyJSONField()
    migrated = serializers.BooleanField(help_text="Filled in from the schema's defaults.")
    published_version = serializers.IntegerField(
        source="published_number", allow_null=True, default=None
    )

    class Meta:
        list_serializer_class = ItemRowsSerializer


class SchemaReviewSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    verdict = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
    standing = serializers.SerializerMethodField(help_text="False once replaced or dismissed.")

    def get_standing(self, review) -> bool:
        return review.dismissed_at is None


class SchemaChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.SerializerMethodField(
        help_text='"schema": a schema change request, at the same addresses as a config\'s.'
    )
    status = serializers.CharField()
    schema_name = serializers.CharField(source="schema.name")
    schema = AnyJSONField(source="body")
    base_version = serializers.IntegerField(source="base_version.number")
    title = serializers.CharField()
    description = serializers.CharField()
    revision = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    approvals = serializers.SerializerMethodField()
    missing = serializers.SerializerMethodField()
    published_version = serializers.IntegerField(
        source="published_version.number", allow_null=True, default=None
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    items = serializers.SerializerMethodField(help_text="Each affected config's new value.")
    changes = serializers.SerializerMethodField(
        help_text="The change set, as every change request gives it: the schema's change "
        '({kind: "schema", schema, base_version, published_version}), then one '
        '{kind: "config", namespace, key, base_version, value, migrated, published_version} '
        "per affected config."
    )
    reviews = SchemaReviewSerializer(many=True)
    url = serializers.SerializerMethodField(help_text="The schema change in the console.")

    def get_kind(self, change_request) -> str:
        return "schema"

    def _items(self, change_request) -> list:
        # Read once for both `items` and `changes`: thousands of rows for a busy schema.
        if not hasattr(change_request, "_item_data"):
            change_request._item_data = ItemSerializer(change_request, many=True).data
        return change_request._item_data

    @extend_schema_field(ItemSerializer(many=True))
    def get_items(self, change_request) -> list:
        return self._items(change_request)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_changes(self, change_request) -> list:
        published = change_request.published_version
        schema = {
            "kind": "schema",
            "schema": change_request.schema.name,
            "base_version": change_request.base_version.number,
            "published_version": published.number if published else None,
        }
        return [schema, *({"kind": "config", **row} for row in self._items(change_request))]

    def get_url(self, change_request) -> str:
        request = self.context.get("request")
        path = change_request.get_absolute_url()
        return request.build_absolute_uri(path) if request else path

    def get_approvals(self, change_request) -> list[str]:
        return [u.username for u in self.context["gate"].approvers]

    def get_missing(self, change_request) -> list[str]:
        return self.context["gate"].missing if change_request.is_open else []


def find(request: Request, pk: int) -> SchemaChangeRequest:
    """The schema change request `pk`, or 404 unless the request may see one of the namespaces
    whose configs change (its author always may, through a token that reaches one of them)."""
    missing = "No such change request, or no access to it."
    change_request = (
        SchemaChangeRequest.objects.select_related("schema", "base_version", "author")
        .filter(pk=pk)
        .first()
    )
    if change_request is None:
        raise Http404(missing)
    configs = schema_changes.affected_configs(change_request)
    user = request.user
    token = token_of(request)
    # A token reaches a schema change through the namespaces it is scoped to.
    in_reach = [ns for ns in configs.namespaces if token is None or in_scope(token, ns)]
    if configs.namespaces and not in_reach:
        raise Http404(missing)
    if user.is_superuser or change_request.author_id == user.pk:
        return change_request
    if not configs.namespaces:  # an unused schema: admins anywhere review it
        if not access.is_admin_somewhere(user):
            raise Http404(missing)
        return change_request
    visible = set(access.visible_namespace_ids(user))
    if not any(ns.pk in visible for ns in in_reach):
        raise Http404(missing)
    return change_request


def answer(request: Request, change_request_pk: int, code=status.HTTP_200_OK) -> Response:
    """The schema change as stored now (read back after the service committed)."""
    change_request = (
        SchemaChangeRequest.objects.select_related(
            "schema", "base_version", "author", "published_version"
        )
        .prefetch_related("reviews__reviewer")
        .get(pk=change_request_pk)
    )
    gate = schema_changes.schema_gate(change_request)
    context = {"gate": gate, "request": request}
    return Response(SchemaChangeSerializer(change_request, context=context).data, code)


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
        return answer(request, change_request.pk, status.HTTP_201_CREATED)


# What the change request endpoints do with a schema change's id, each given its body as read by
# that endpoint's serializer (the same fields for both kinds).


def review(
    request: Request, change_request: SchemaChangeRequest, data: dict, *, approve: bool
) -> Response:
    """An approval, or a request for changes (`approve=False`)."""
    ensure_can_write(request)
    verdict = (
        schema_changes.schema_change_approve
        if approve
        else schema_changes.schema_change_request_changes
    )
    verdict(
        change_request=change_request,
        reviewer=request.user,
        comment=data["comment"],
        seen_revision=data.get("revision"),
    )
    return answer(request, change_request.pk)


def publish(request: Request, change_request: SchemaChangeRequest, data: dict) -> Response:
    ensure_can_write(request)
    schema_changes.schema_change_publish(
        change_request=change_request,
        actor=request.user,
        effective_at=data.get("effective_at"),
        bypass_reason=data.get("bypass_reason"),
    )
    return answer(request, change_request.pk)


def rebase(request: Request, change_request: SchemaChangeRequest) -> Response:
    ensure_can_write(request)
    schema_changes.schema_change_rebase(change_request=change_request, actor=request.user)
    return answer(request, change_request.pk)


def withdraw(request: Request, change_request: SchemaChangeRequest, data: dict) -> Response:
    ensure_can_write(request)
    schema_changes.schema_change_withdraw(
        change_request=change_request, actor=request.user, reason=data["reason"]
    )
    return answer(request, change_request.pk)


def edit(request: Request, change_request: SchemaChangeRequest) -> Response:
    """The author's new proposal for a schema change (PATCH at the change request address)."""
    ensure_can_write(request)
    body = SchemaChangeEditSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    schema_changes.schema_change_edit(
        change_request=change_request,
        actor=request.user,
        body=data.get("schema"),
        values=data["values"],
        title=data.get("title"),
        description=data.get("description"),
    )
    return answer(request, change_request.pk)
