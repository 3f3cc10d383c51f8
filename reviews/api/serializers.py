"""Change requests, versions and reviews as the API shows them, and what it accepts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from configs import environments
from configs.api.reads import timestamp
from configs.api.serializers import AnyJSONField, OverridesField
from reviews.gate import gate_for
from reviews.kinds import schema as schema_kind
from reviews.models import Change, ChangeRequest, Comment, Review


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")
    standing = serializers.SerializerMethodField(help_text="False once replaced or dismissed.")

    class Meta:
        model = Review
        fields = ["reviewer", "verdict", "comment", "revision", "created_at", "standing"]

    def get_standing(self, review) -> bool:
        return review.dismissed_at is None


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = Comment
        fields = ["author", "body", "created_at"]


class ChangeSerializer(serializers.ModelSerializer):
    namespace = serializers.CharField(source="config.namespace.slug")
    key = serializers.CharField(source="config.key")
    value = AnyJSONField()
    overrides = OverridesField()
    environment = serializers.SerializerMethodField(
        help_text="The environment it changes (null for a new config: every environment)."
    )
    base_version = serializers.IntegerField(source="base_version_number", allow_null=True)
    published_version = serializers.IntegerField(source="published_version.number", allow_null=True)
    migrated = serializers.BooleanField(
        help_text="Filled in from a schema's defaults rather than by a person."
    )

    class Meta:
        model = Change
        fields = [
            "kind",
            "namespace",
            "key",
            "environment",
            "base_version",
            "value",
            "overrides",
            "migrated",
            "published_version",
        ]

    def get_environment(self, change) -> str | None:
        return change.env.name if change.env is not None else None


class SchemaChangeOutSerializer(serializers.Serializer):
    """A schema's change in a change request's `changes` (the first)."""

    kind = serializers.CharField()
    schema = serializers.CharField(source="schema.name")
    body = AnyJSONField(help_text="The proposed schema.")
    base_version = serializers.IntegerField(source="schema_base_version.number")
    published_version = serializers.IntegerField(
        source="published_schema_version.number", allow_null=True, default=None
    )


class ChangeRowSerializer(serializers.Serializer):
    """A config change of a schema change, read as a plain row (schema_kind.config_rows)."""

    kind = serializers.CharField(default=Change.Kind.CONFIG)
    namespace = serializers.CharField()
    key = serializers.CharField()
    environment = serializers.SerializerMethodField(help_text="The environment it changes.")
    base_version = serializers.IntegerField(source="base_number")
    value = AnyJSONField()
    migrated = serializers.BooleanField()
    published_version = serializers.IntegerField(
        source="published_number", allow_null=True, default=None
    )

    def get_environment(self, row) -> str:
        return environments.by_id(row["environment_id"]).name


def _of_the_one(help_text: str) -> serializers.SerializerMethodField:
    """A field of the one-config change request's change (null for a set of several)."""
    return serializers.SerializerMethodField(help_text=f"{help_text} (null for several configs)")


class ChangeRequestSerializer(serializers.ModelSerializer):
    namespace = _of_the_one("The config's namespace")
    key = _of_the_one("The config's key")
    environment = _of_the_one("The environment it changes")
    author = serializers.CharField(source="author.username")
    value = _of_the_one("The proposed value")
    overrides = _of_the_one("The proposed overrides")
    base_version = _of_the_one("The version it is based on")
    published_version = _of_the_one("The version it became")
    changes = serializers.SerializerMethodField(
        help_text='Every change of the set: a schema\'s change first ({kind: "schema", schema, '
        "body, base_version, published_version}) when it changes one, then each config's "
        "({kind, namespace, key, base_version, value, migrated, published_version})."
    )
    approvals = serializers.SerializerMethodField(
        help_text="Who approved the set now proposed (standing approvals only)."
    )
    required_approvals = serializers.SerializerMethodField(
        help_text="How many approvals the strictest policy of its configs needs."
    )
    missing = serializers.SerializerMethodField(
        help_text="What still stands between the change and publishing, in words."
    )
    reviews = ReviewSerializer(many=True, read_only=True)
    comments = CommentSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField(help_text="The change request in the console.")
    kind = serializers.SerializerMethodField(
        help_text='"schema" when it changes a schema (with the values it migrates), else "config".'
    )

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "kind",
            "status",
            "namespace",
            "key",
            "environment",
            "title",
            "description",
            "value",
            "overrides",
            "base_version",
            "changes",
            "revision",
            "author",
            "approvals",
            "required_approvals",
            "missing",
            "published_version",
            "created_at",
            "updated_at",
            "reviews",
            "comments",
            "url",
        ]

    def get_namespace(self, change_request) -> str | None:
        return change_request.config.namespace.slug if change_request.is_single else None

    def get_key(self, change_request) -> str | None:
        return change_request.config.key if change_request.is_single else None

    def get_environment(self, change_request) -> str | None:
        if not change_request.is_single or change_request.change.env is None:
            return None
        return change_request.change.env.name

    @extend_schema_field(OpenApiTypes.ANY)
    def get_value(self, change_request):
        return change_request.value if change_request.is_single else None

    # Null for several configs, so the schema says so (OverridesField alone is never null).
    @extend_schema_field({"type": "array", "items": {"type": "object"}, "nullable": True})
    def get_overrides(self, change_request) -> list | None:
        return change_request.change.overrides if change_request.is_single else None

    def get_base_version(self, change_request) -> int | None:
        """The one config's base; of a schema change, the schema's."""
        schema_change = change_request.schema_change
        if schema_change is not None:
            return schema_change.schema_base_version.number
        if not change_request.is_single:
            return None
        return change_request.change.base_version_number

    def get_published_version(self, change_request) -> int | None:
        schema_change = change_request.schema_change
        if schema_change is not None:
            published = schema_change.published_schema_version
            return published.number if published else None
        version = change_request.published_version if change_request.is_single else None
        return version.number if version else None

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_changes(self, change_request) -> list:
        schema_change = change_request.schema_change
        if schema_change is None:
            return ChangeSerializer(change_request.change_list, many=True).data
        # Thousands of migrated values for a busy schema: read as rows, not models.
        return [
            SchemaChangeOutSerializer(schema_change).data,
            *ChangeRowSerializer(schema_kind.config_rows(change_request), many=True).data,
        ]

    def get_required_approvals(self, change_request) -> int:
        return self._gate(change_request).required

    def _gate(self, change_request):
        if not hasattr(change_request, "_gate"):
            change_request._gate = gate_for(change_request)
        return change_request._gate

    def get_approvals(self, change_request) -> list[str]:
        return [user.username for user in self._gate(change_request).approvers]

    def get_missing(self, change_request) -> list[str]:
        if not change_request.is_open:
            return []
        return self._gate(change_request).missing

    def get_kind(self, change_request) -> str:
        return "schema" if change_request.schema_change is not None else "config"

    def get_url(self, change_request) -> str:
        request = self.context.get("request")
        path = change_request.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


_OVERRIDES_KEPT = " Left out: the overrides it has now are kept; [] removes them."


class ProposalSerializer(serializers.Serializer):
    value = AnyJSONField(help_text="The proposed value.")
    overrides = OverridesField(
        required=False, help_text="The proposed overrides." + _OVERRIDES_KEPT
    )
    environment = serializers.CharField(
        required=False,
        help_text="The environment to change (default: the token's, else the default one).",
    )
    base_version = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text="The version the change is based on: the newest in its environment.",
    )
    title = serializers.CharField(max_length=200, help_text="Why: shown to reviewers.")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ChangeInputSerializer(serializers.Serializer):
    namespace = serializers.SlugField()
    key = serializers.SlugField()
    value = AnyJSONField(help_text="The config's proposed value.")
    overrides = OverridesField(
        required=False, help_text="The config's proposed overrides." + _OVERRIDES_KEPT
    )
    environment = serializers.CharField(
        required=False,
        help_text="The environment to change (default: the token's, else the default one).",
    )
    base_version = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        required=False,
        help_text="The version the change is based on: the config's newest (null for a config "
        "with no version yet). Required for a config new to the change request.",
    )


class SchemaChangeInputSerializer(serializers.Serializer):
    schema = serializers.SlugField(help_text="The schema's name.")
    body = AnyJSONField(help_text="The new JSON Schema (Draft 2020-12).")
    base_version = serializers.IntegerField(help_text="The schema version it is based on.")
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        default=dict,
        help_text='New values by "namespace/key", for configs the defaults cannot migrate.',
    )


class NewConfigFieldsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    schema = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="A schema name, or null."
    )
    owners = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Usernames; the creator when left out.",
    )


class NewConfigInputSerializer(serializers.Serializer):
    namespace = serializers.SlugField()
    key = serializers.SlugField(max_length=100, help_text="A slug, unique in the namespace.")
    value = AnyJSONField(help_text="Its first value.")
    overrides = OverridesField(
        required=False,
        help_text="Its first overrides, with the value in every environment. Left out: none.",
    )
    new = NewConfigFieldsSerializer(help_text="The config to create with it.")


class AnyChangeInputSerializer(serializers.Serializer):
    """One change of a set: a config's value, a new config's first value (`new`), or a
    schema's change (`schema`, `body`)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and "schema" in data:
            return {"schema_change": SchemaChangeInputSerializer().run_validation(data)}
        if isinstance(data, dict) and "new" in data:
            return {"new_config": NewConfigInputSerializer().run_validation(data)}
        return ChangeInputSerializer().run_validation(data)

    def to_representation(self, instance):
        return instance


class SetProposalSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, help_text="Why: shown to reviewers.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    draft = serializers.BooleanField(
        required=False, default=False, help_text="Keep it as your draft: nobody reviews it yet."
    )
    changes = AnyChangeInputSerializer(
        many=True,
        allow_empty=False,
        help_text="One change per config ({namespace, key, value, base_version}; a config to "
        "create: {namespace, key, value, overrides?, new: {name, schema?, owners?}}), or one "
        "schema's change ({schema, body, base_version, values?}, with the values it "
        "migrates): reviewed as one.",
    )

    def validate_changes(self, changes):
        schema_changes = [c for c in changes if "schema_change" in c]
        if schema_changes and len(changes) > 1:
            raise serializers.ValidationError(
                "A schema's change is proposed alone (it carries the values it migrates): "
                "propose other configs' values in a change request of their own."
            )
        return changes


class SchemaChangeProposalSerializer(serializers.Serializer):
    schema = AnyJSONField(help_text="The new JSON Schema (Draft 2020-12).")
    base_version = serializers.IntegerField(help_text="The schema version it is based on.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    draft = serializers.BooleanField(required=False, default=False)
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        default=dict,
        help_text='New values by "namespace/key", for configs the defaults cannot migrate.',
    )


class EditSerializer(serializers.Serializer):
    value = AnyJSONField(
        required=False,
        help_text="The new proposed value of a one-config change request; earlier approvals "
        "are dismissed.",
    )
    overrides = OverridesField(
        required=False,
        help_text="The new proposed overrides of a one-config change request; earlier "
        "approvals are dismissed." + _OVERRIDES_KEPT,
    )
    changes = ChangeInputSerializer(
        many=True,
        required=False,
        allow_empty=False,
        help_text="The new set: configs already in it keep their base; a config left out is "
        "dropped. Earlier approvals are dismissed.",
    )
    schema = AnyJSONField(required=False, help_text="A schema change's new schema.")
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        help_text='New values by change: "namespace/key", or "namespace/key@environment" '
        "outside the default environment; each reaches that environment's change only (of a "
        "schema change: values given before are kept for the others).",
    )
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if ("value" in attrs or "overrides" in attrs) and "changes" in attrs:
            raise serializers.ValidationError(
                "Give either `value` (and `overrides`) or `changes`, not both."
            )
        if ("value" in attrs or "overrides" in attrs or "changes" in attrs) and (
            "schema" in attrs or "values" in attrs
        ):
            raise serializers.ValidationError(
                "Give a config's `value` or `changes`, or a schema change's `schema` and "
                "`values`, not both."
            )
        if not attrs:
            raise serializers.ValidationError(
                "Nothing to change: give `value` or `changes` (of a schema change: `schema` or "
                "`values`)."
            )
        if "schema" in attrs:
            attrs["body"] = attrs.pop("schema")
        return attrs


class RebaseSerializer(serializers.Serializer):
    values = serializers.DictField(
        child=AnyJSONField(),
        required=False,
        default=dict,
        help_text='Merged values by change: "namespace/key", or "namespace/key@environment" '
        "outside the default environment, for changes whose config's newest version there "
        "changed the same places (the others are carried over by themselves).",
    )


class VerdictSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    revision = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The revision the reviewer read; refused (409) if the proposal changed since.",
    )


class PublishSerializer(serializers.Serializer):
    effective_at = serializers.DateTimeField(
        required=False, help_text="When it goes live (default: now)."
    )
    bypass_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Publish without the required approvals (admins only); why, in words.",
    )


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    effective_at = serializers.SerializerMethodField()
    published_at = serializers.SerializerMethodField()
    published_by = serializers.CharField(source="published_by.username")
    approved_by = serializers.SerializerMethodField()
    bypass_reason = serializers.CharField()
    change_request = serializers.SerializerMethodField(help_text="The change request's id.")

    def get_effective_at(self, version) -> str:
        return timestamp(version.effective_at)

    def get_published_at(self, version) -> str:
        return timestamp(version.published_at)

    def get_approved_by(self, version) -> list[str]:
        return self.context["approvers"].get(version.pk, [])

    def get_change_request(self, version) -> int | None:
        change = getattr(version, "change", None)
        return change.change_request_id if change else None


class DifferenceSerializer(serializers.Serializer):
    key = serializers.CharField()
    from_version = serializers.IntegerField(help_text="Its live version in `from`.")
    to_version = serializers.IntegerField(
        allow_null=True, help_text="Its live version in `to` (null: none yet)."
    )
    differs = serializers.BooleanField(help_text="Always true: configs that match are left out.")
    summary = serializers.CharField(help_text="What promoting it would change in `to`, in words.")


class PromotionSerializer(serializers.Serializer):
    """{from, to, keys?, title, description?}: "from" is a Python keyword, so the fields are
    declared here."""

    def get_fields(self):
        return {
            "from": serializers.CharField(help_text="The environment promoted from: staging."),
            "to": serializers.CharField(help_text="A later environment: production."),
            "keys": serializers.ListField(
                child=serializers.CharField(),
                required=False,
                allow_empty=False,
                help_text="The configs to promote (default: every config that differs).",
            ),
            "title": serializers.CharField(max_length=200, help_text="Why: shown to reviewers."),
            "description": serializers.CharField(required=False, allow_blank=True, default=""),
        }
