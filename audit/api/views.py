"""/api/v1/audit/: the audit log for auditors' scripts, with the console's filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView

from audit.models import AuditEvent
from audit.paging import AuditPagination
from audit.selectors import filtered_events
from configs.api.access import token_of
from configs.api.reads import timestamp
from configs.api.serializers import error_responses


class AuditEventSerializer(serializers.ModelSerializer):
    at = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_name", help_text="Username; empty for the system.")
    target = serializers.SerializerMethodField(help_text="What the action was done to.")

    class Meta:
        model = AuditEvent
        fields = ["at", "actor", "action", "namespace", "config", "target", "reason", "details"]

    def get_at(self, event) -> str | None:
        return timestamp(event.at)

    def get_target(self, event) -> dict:
        return {"type": event.target_type, "id": event.target_id, "name": event.target_repr}


def _instant(request, name: str, end_of_day: bool = False) -> datetime | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        # parse_datetime() would read a bare date as a naive midnight: ask for a date first.
        day = parse_date(text)
        instant = None if day else parse_datetime(text)
        if day is not None:
            if end_of_day and day == date.max:
                return None  # until the end of the calendar: no upper bound
            # A bare date means the whole day: since its start, until the start of the next.
            instant = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
            if end_of_day:
                instant += timedelta(days=1)
        if instant is not None and timezone.is_aware(instant):
            instant = instant.astimezone(UTC)
    except (ValueError, OverflowError):  # month 13; year 1 at +14:00
        instant = None
    if instant is None or timezone.is_naive(instant):
        raise ValidationError(
            {
                "detail": f"{name} must be a date (2026-05-01) or an ISO 8601 instant with a "
                f"time zone (2026-05-01T09:00:00Z), not {text[:64]!r}."
            }
        )
    return instant


FILTERS = [
    OpenApiParameter("namespace", str, description="A namespace's slug."),
    OpenApiParameter("config", str, description="A config key, or namespace/key."),
    OpenApiParameter("actor", str, description="A username."),
    OpenApiParameter(
        "action",
        str,
        description="An action, e.g. change_request.published, or a family, e.g. change_request.",
    ),
    OpenApiParameter(
        "since", str, description="From this date (2026-05-01) or instant (…T09:00:00Z) on."
    ),
    OpenApiParameter(
        "until",
        str,
        description="Before this instant, or to the end of this date.",
    ),
]


class AuditLog(ListAPIView):
    """Audit events the caller may see, newest first, paginated."""

    serializer_class = AuditEventSerializer
    pagination_class = AuditPagination

    @extend_schema(
        operation_id="audit_log",
        parameters=FILTERS,
        responses={
            200: AuditEventSerializer(many=True),
            **error_responses(400, 401, 404, 429),
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        request = self.request
        token = token_of(request)
        scope = list(token.namespaces.values_list("slug", flat=True)) if token else None
        if request.query_params.get("namespace"):
            wanted = request.query_params["namespace"]
            scope = [wanted] if scope is None or wanted in scope else []
        return filtered_events(
            user=request.user,
            namespaces=scope,
            config=request.query_params.get("config", ""),
            actor=request.query_params.get("actor", ""),
            action=request.query_params.get("action", ""),
            since=_instant(request, "since"),
            until=_instant(request, "until", end_of_day=True),
        )
