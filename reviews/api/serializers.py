"""Change requests, versions and reviews as the API shows them, and what it accepts."""

from __future__ import annotations

from rest_framework import serializers

from configs.api.reads import timestamp
from configs.api.serializers import AnyJSONField
from reviews.gate import gate_for
from reviews.models import ChangeRequest, Comment, Review


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


class ChangeRequestSerializer(serializers.ModelSerializer):
    namespace = serializers.CharField(source="config.namespace.slug")
    key = serializers.CharField(source="config.key")
    author = serializers.CharField(source="author.username")
    value = AnyJSONField()
    base_version = serializers.IntegerField(source="base_version.number", allow_null=True)
    published_version = serializers.IntegerField(source="published_version.number", allow_null=True)
    approvals = serializers.SerializerMethodField(
        help_text="Who approved the value now proposed (standing approvals only)."
    )
    missing = serializers.SerializerMethodField(
        help_text="What still stands between the change and publishing, in words."
    )
    reviews = ReviewSerializer(many=True, read_only=True)
    comments = CommentSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField(help_text="The change request in the console.")
    kind = serializers.SerializerMethodField(
        help_text='"config": one config\'s new value ("schema" for a schema change request).'
    )

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "kind",
            "status",
            "namespace",
            "key",
            "title",
            "description",
            "value",
            "base_version",
            "revision",
            "author",
            "approvals",
            "missing",
            "published_version",
            "created_at",
            "updated_at",
            "reviews",
            "comments",
            "url",
        ]

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
        return "config"

    def get_url(self, change_request) -> str:
        request = self.context.get("request")
        path = change_request.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class ProposalSerializer(serializers.Serializer):
    value = AnyJSONField(help_text="The proposed value.")
    base_version = serializers.IntegerField(
        allow_null=True, min_value=1, help_text="The version the change is based on (the newest)."
    )
    title = serializers.CharField(max_length=200, help_text="Why: shown to reviewers.")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class EditSerializer(serializers.Serializer):
    value = AnyJSONField(help_text="The new proposed value; earlier approvals are dismissed.")
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


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
        change_request = getattr(version, "change_request", None)
        return change_request.pk if change_request else None
