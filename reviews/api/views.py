"""Change requests over HTTP, of every kind (config changes, a schema's change with the values it
migrates): each endpoint is a thin view over one review service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from configs import environments, selectors
from configs.api.access import (
    ensure_bound_token_reads,
    ensure_can_write,
    ensure_readable,
    environment_for,
    in_scope,
    readable_config,
    reading_environment,
    token_of,
)
from configs.api.serializers import environment_parameter, error_responses
from configs.drift import differences
from configs.models import Namespace, Schema, Version
from reviews import services
from reviews.api.authoring import schema_and_owners
from reviews.api.serializers import (
    ChangeRequestSerializer,
    DifferenceSerializer,
    EditSerializer,
    PromotionSerializer,
    ProposalSerializer,
    PublishSerializer,
    RebaseSerializer,
    SchemaChangeProposalSerializer,
    SetProposalSerializer,
    VerdictSerializer,
    VersionSerializer,
    WithdrawSerializer,
)
from reviews.gate import may_see
from reviews.models import Change, ChangeRequest, Review
from reviews.new_configs import NewInSet, set_propose
from reviews.promotions import promotion_open
from reviews.selectors import approvers_for_versions


def _change_request(request, pk: int, *, own_without_role: bool = False) -> ChangeRequest:
    """The change request, or 404 unless the request may read every namespace it touches (one
    touching none, a change of a schema nobody uses: admins anywhere). With
    `own_without_role`, its author may reach it even after losing their role (to withdraw it);
    a token must still reach the namespaces."""
    missing = "No such change request, or no access to it."
    change_request = (
        ChangeRequest.objects.select_related("author")
        .prefetch_related(
            Prefetch("reviews", queryset=Review.objects.select_related("reviewer")),
            "comments__author",
        )
        .filter(pk=pk)
        .first()
    )
    if change_request is None:
        raise Http404(missing)
    namespaces = change_request.namespaces
    if own_without_role and change_request.author_id == request.user.pk:
        token = token_of(request)
        if token is not None and not all(in_scope(token, ns) for ns in namespaces):
            raise Http404(missing)
    else:
        if not namespaces and not may_see(request.user, change_request):
            raise Http404(missing)
        for namespace in namespaces:
            ensure_readable(request, namespace, missing)
    _ensure_token_environments(request, change_request)
    return change_request


def _ensure_token_environments(request, change_request: ChangeRequest) -> None:
    """404 unless a token bound to an environment reads every environment the change request
    changes: reading, reviewing or publishing it reads or writes those values, and a staging
    token must not approve or publish production's (as it may not propose there)."""
    token = token_of(request)
    if token is None or token.environment_id is None:
        return  # only bound tokens are asked: the query is theirs alone
    ids = (
        Change.objects.filter(change_request_id=change_request.pk, environment__isnull=False)
        .values_list("environment_id", flat=True)
        .distinct()
    )
    ensure_bound_token_reads(request, *(environments.by_id(pk) for pk in ids))


def _answer(
    request, pk: int, code: int = status.HTTP_200_OK, *, own_without_role: bool = False
) -> Response:
    # Read back after the service committed: the answer shows what was stored.
    change_request = _change_request(request, pk, own_without_role=own_without_role)
    return Response(
        ChangeRequestSerializer(change_request, context={"request": request}).data, code
    )


def _proposed(request, changes: list[dict]) -> list[services.Proposed]:
    """The set a request proposes: each config must be one the request may read."""
    return [
        services.Proposed(
            config=readable_config(request, change["namespace"], change["key"]),
            value=change["value"],
            base_version=change.get("base_version"),
            overrides=change.get("overrides"),
            environment=environment_for(request, change.get("environment")),
        )
        for change in changes
    ]


def _changes_named(change_request: ChangeRequest, values: dict) -> dict[tuple[int, int], object]:
    """`values` by the name the API gives each change ("<ns>/<key>" in the default environment,
    "<ns>/<key>@<environment>" in another; "@<default>" said or not), as change lines: so a
    value reaches that environment's change only. 400 naming every key that names no change
    of it, or the same change as another key."""
    lines = {change.label: change.line for change in change_request.change_list}
    default = f"@{environments.default().name}"
    found: dict[tuple[int, int], object] = {}
    unknown, twice = [], []
    for name, value in values.items():
        line = lines.get(name, lines.get(name.removesuffix(default)))
        if line is None:
            unknown.append(name)
        elif line in found:
            twice.append(name)
        else:
            found[line] = value
    if unknown:
        raise ValidationError(
            f"{', '.join(sorted(unknown))} is not part of change request #{change_request.pk}: "
            f'give values by "namespace/key" (or "namespace/key@environment" outside '
            f"{environments.default().name}) of its changes: {', '.join(sorted(lines))}."
        )
    if twice:
        raise ValidationError(
            f"{', '.join(sorted(twice))} names a change another key names too: give each "
            "change's value once."
        )
    return found


def _new_in_set(request, change: dict) -> NewInSet:
    """A config to create in a set: in a namespace the request may read."""
    missing = "No such namespace, or no access to it."
    namespace = Namespace.objects.filter(slug=change["namespace"]).first()
    if namespace is None:
        raise Http404(missing)
    ensure_readable(request, namespace, missing)
    schema, owners = schema_and_owners(change["new"])
    return NewInSet(
        namespace=namespace,
        key=change["key"],
        name=change["new"]["name"],
        value=change["value"],
        schema=schema,
        owners=owners,
        overrides=change.get("overrides"),
    )


def _body(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class VersionList(ListAPIView):
    """Published versions of a config, newest first."""

    serializer_class = VersionSerializer

    @extend_schema(
        operation_id="config_versions",
        parameters=[environment_parameter()],
        responses={200: VersionSerializer(many=True), **error_responses(400, 401, 404, 429)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        environment = reading_environment(self.request)
        config = readable_config(self.request, self.kwargs["namespace"], self.kwargs["key"])
        return (
            selectors.versions_of(config, environment)
            .active()
            .select_related("published_by", "change")
            .order_by("-number")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "approvers": self._approvers}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._approvers = approvers_for_versions(page)
        return page


class ChangeRequestSetCreate(APIView):
    """Propose new values for several configs (in one namespace or several), reviewed and
    published as one; in review at once unless `draft`."""

    @extend_schema(
        operation_id="change_request_set_create",
        request=SetProposalSerializer,
        responses={
            201: ChangeRequestSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request):
        ensure_can_write(request)
        data = _body(SetProposalSerializer, request)
        first = data["changes"][0]
        if "schema_change" in first:
            proposed = first["schema_change"]
            return _schema_change_opened(
                request, proposed["schema"], {**data, **proposed, "schema": proposed["body"]}
            )
        change_request = set_propose(
            author=request.user,
            changes=_proposed(request, [c for c in data["changes"] if "new_config" not in c]),
            new=[
                _new_in_set(request, c["new_config"]) for c in data["changes"] if "new_config" in c
            ],
            title=data["title"],
            description=data["description"],
            draft=data["draft"],
        )
        return _answer(request, change_request.pk, status.HTTP_201_CREATED)


class ChangeRequestCreate(APIView):
    """Propose a new value for a config; it goes straight into review."""

    @extend_schema(
        operation_id="change_request_create",
        request=ProposalSerializer,
        responses={
            201: ChangeRequestSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request, namespace: str, key: str):
        config = readable_config(request, namespace, key)
        ensure_can_write(request)
        data = _body(ProposalSerializer, request)
        change_request = services.change_request_open(
            config=config,
            author=request.user,
            value=data["value"],
            overrides=data.get("overrides"),
            title=data["title"],
            description=data["description"],
            base_version=data["base_version"],
            environment=environment_for(request, data.get("environment")),
        )
        return _answer(request, change_request.pk, status.HTTP_201_CREATED)


class ChangeRequestDetail(APIView):
    """A change request with its reviews and comments; its author may change the value (of a
    schema change: the schema, some configs' values, the title)."""

    @extend_schema(
        operation_id="change_request_read",
        responses={200: ChangeRequestSerializer, **error_responses(400, 401, 404, 429)},
    )
    def get(self, request, pk: int):
        change_request = _change_request(request, pk)
        return Response(ChangeRequestSerializer(change_request, context={"request": request}).data)

    @extend_schema(
        operation_id="change_request_edit",
        request=EditSerializer,
        responses={
            200: ChangeRequestSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 429),
        },
    )
    def patch(self, request, pk: int):
        change_request = _change_request(request, pk)
        ensure_can_write(request)
        data = _body(EditSerializer, request)
        if "changes" in data:
            data["changes"] = _proposed(request, data["changes"])
        elif "values" in data and change_request.schema_change is None:
            # Config changes' new values by name: each for its own environment's change, the
            # others (and every change's overrides) kept.
            given = _changes_named(change_request, data.pop("values"))
            data["changes"] = [
                services.Proposed(
                    change.config,
                    given.get(change.line, change.value),
                    change.base_version_number,
                    None,
                    change.env,
                )
                for change in change_request.change_list
            ]
        services.change_request_edit(change_request=change_request, actor=request.user, **data)
        return _answer(request, pk)


class ChangeRequestApprove(APIView):
    """Approve the exact value now proposed."""

    @extend_schema(
        operation_id="change_request_approve",
        request=VerdictSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, pk: int):
        change_request = _change_request(request, pk)
        ensure_can_write(request)
        data = _body(VerdictSerializer, request)
        services.change_request_approve(
            change_request=change_request,
            reviewer=request.user,
            comment=data["comment"],
            seen_revision=data.get("revision"),
        )
        return _answer(request, pk)


class ChangeRequestRequestChanges(APIView):
    """Ask for changes: blocks publishing until this reviewer approves."""

    @extend_schema(
        operation_id="change_request_request_changes",
        request=VerdictSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, pk: int):
        change_request = _change_request(request, pk)
        ensure_can_write(request)
        data = _body(VerdictSerializer, request)
        services.change_request_request_changes(
            change_request=change_request,
            reviewer=request.user,
            comment=data["comment"],
            seen_revision=data.get("revision"),
        )
        return _answer(request, pk)


class ChangeRequestPublish(APIView):
    """Publish now or at `effective_at`; admins may bypass missing approvals with a reason. A
    config's change request answers with the new version; a schema change request with itself,
    naming the schema version and each config's new version."""

    @extend_schema(
        operation_id="change_request_publish",
        request=PublishSerializer,
        responses={
            200: PolymorphicProxySerializer(
                component_name="PublishedChange",
                serializers=[VersionSerializer, ChangeRequestSerializer],
                resource_type_field_name=None,
            ),
            **error_responses(400, 401, 403, 404, 409, 429),
        },
    )
    def post(self, request, pk: int):
        change_request = _change_request(request, pk)
        ensure_can_write(request)
        data = _body(PublishSerializer, request)
        version = services.change_request_publish(
            change_request=change_request,
            actor=request.user,
            effective_at=data.get("effective_at"),
            bypass_reason=data.get("bypass_reason"),
        )
        if version is None or not change_request.is_single:
            # A set answers with itself: each change names the version it became.
            return _answer(request, pk)
        version = Version.objects.select_related("published_by", "change").get(pk=version.pk)
        context = {"request": request, "approvers": approvers_for_versions([version])}
        return Response(VersionSerializer(version, context=context).data)


class ChangeRequestWithdraw(APIView):
    """The author takes the change request back."""

    @extend_schema(
        operation_id="change_request_withdraw",
        request=WithdrawSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, pk: int):
        change_request = _change_request(request, pk, own_without_role=True)
        ensure_can_write(request)
        data = _body(WithdrawSerializer, request)
        services.change_request_withdraw(
            change_request=change_request, actor=request.user, reason=data["reason"]
        )
        return _answer(request, pk, own_without_role=True)


class ChangeRequestRebase(APIView):
    """The author re-bases a conflicted change request: every change on its config's newest
    version, values kept; back in review, approvals dismissed."""

    @extend_schema(
        operation_id="change_request_rebase",
        request=RebaseSerializer,
        responses={200: ChangeRequestSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, pk: int):
        change_request = _change_request(request, pk)
        ensure_can_write(request)
        data = _body(RebaseSerializer, request)
        if data["values"] and change_request.schema_change is not None:
            raise ValidationError(
                f"{', '.join(sorted(data['values']))} is not part of change request #{pk}: a "
                "schema change is rebased as it is; give new values with an edit afterwards."
            )
        services.change_request_rebase(
            change_request=change_request,
            actor=request.user,
            values=dict(_changes_named(change_request, data["values"])),
        )
        return _answer(request, pk)


class SchemaChangeCreate(APIView):
    """Propose a schema's next version with the new values of the configs it would reject: a
    change request like any other (`POST /api/v1/change-requests/` takes the same)."""

    @extend_schema(
        operation_id="schema_change_create",
        request=SchemaChangeProposalSerializer,
        responses={
            201: ChangeRequestSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 429),
        },
    )
    def post(self, request, name: str):
        ensure_can_write(request)
        return _schema_change_opened(request, name, _body(SchemaChangeProposalSerializer, request))


def _schema_change_opened(request, name: str, data: dict) -> Response:
    """Open a change of schema `name` (`data`: its new body as `schema`, base_version, values,
    title, description, draft) and answer with it."""
    with transaction.atomic():
        change_request = services.schema_change_open(
            schema=get_object_or_404(Schema, name=name),
            author=request.user,
            body=data["schema"],
            base_version=data["base_version"],
            title=data["title"],
            description=data["description"],
            values=data["values"],
            draft=data["draft"],
        )
        # The values it migrates are known once it is made: a token bound to an environment
        # that would change another's is refused, and nothing is kept (nor announced).
        _ensure_token_environments(request, change_request)
    return _answer(request, change_request.pk, status.HTTP_201_CREATED)


def _readable_namespace(request, slug: str) -> Namespace:
    missing = "No such namespace, or no access to it."
    namespace = Namespace.objects.filter(slug=slug).first()
    if namespace is None:
        raise Http404(missing)
    ensure_readable(request, namespace, missing)
    return namespace


def _two_environments(given: dict) -> tuple[environments.Env, environments.Env]:
    """The environments `from` and `to` name (404 for one that does not exist); 400 naming
    the ones missing."""
    missing = [name for name in ("from", "to") if not (given.get(name) or "").strip()]
    if missing:
        raise ValidationError(
            f"Give {' and '.join(missing)}: the environments to compare, e.g. "
            "from=staging&to=production."
        )
    return environments.named(given["from"].strip()), environments.named(given["to"].strip())


class NamespaceDrift(APIView):
    """The configs of a namespace whose live values (or overrides) differ between two
    environments, each with what promoting it would change, in words."""

    @extend_schema(
        operation_id="namespace_drift",
        parameters=[
            OpenApiParameter("from", str, required=True, description="An environment: staging."),
            OpenApiParameter("to", str, required=True, description="Another: production."),
        ],
        responses={200: DifferenceSerializer(many=True), **error_responses(400, 401, 404, 429)},
    )
    def get(self, request, namespace: str):
        found = _readable_namespace(request, namespace)
        source, target = _two_environments(request.query_params)
        # A token bound to an environment reads only that one: drift reads both sides.
        ensure_bound_token_reads(request, source, target)
        return Response(
            [
                {
                    "key": d.key,
                    "from_version": d.source.number,
                    "to_version": d.target.number if d.target is not None else None,
                    "differs": True,
                    "summary": d.summary,
                }
                for d in differences(namespace=found, source=source, target=target)
            ]
        )


class PromotionCreate(APIView):
    """Open a change request setting each config's value and overrides in `to` to its live
    ones in `from` (every config that differs, or `keys`), under `to`'s review policy."""

    @extend_schema(
        operation_id="promotion_create",
        request=PromotionSerializer,
        responses={
            201: ChangeRequestSerializer,
            **error_responses(400, 401, 403, 404, 409, 429),
        },
    )
    def post(self, request, namespace: str):
        found = _readable_namespace(request, namespace)
        ensure_can_write(request)
        data = _body(PromotionSerializer, request)
        source, target = _two_environments(data)
        # Writes change the token's environment only: a bound token promotes into its own.
        ensure_bound_token_reads(request, target)
        change_request = promotion_open(
            namespace=found,
            source=source,
            target=target,
            keys=data.get("keys"),
            author=request.user,
            title=data["title"],
            description=data["description"],
        )
        return _answer(request, change_request.pk, status.HTTP_201_CREATED)
