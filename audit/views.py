"""The audit log pages: the filtered log, page by page, and its exports."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from audit import export, paging, selectors
from audit.display import detail_lines
from audit.forms import AuditFilterForm
from audit.models import AuditEvent
from common.keyset import page_from

PAGE_SIZE = 50


def _config_url(namespace: str, key: str) -> str:
    if not (namespace and key):
        return ""
    try:
        return reverse("configs:detail", args=[namespace, key])
    except NoReverseMatch:  # typed into the filter by hand: no page to link to
        return ""


def _one_config(filters: dict[str, str]) -> tuple[str, str] | None:
    """(namespace, key) when the filters name exactly one config: its audit tab."""
    namespace, _, key = filters.get("config", "").strip().rpartition("/")
    namespace = namespace or filters.get("namespace", "")
    return (namespace, key) if namespace and key else None


def _filtered(request) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    """The filters in the request, and the events they keep that the person may see."""
    form = AuditFilterForm(request.GET, user=request.user)
    return form, selectors.filtered_events(user=request.user, **form.selector_filters())


@login_required
def audit_log(request):
    form, events = _filtered(request)
    # Newer and older pages by keyset (common.keyset): the millionth event costs what the
    # newest does. The count stops at COUNT_BOUND, so it costs the same on every page too.
    page = page_from(request, events, per_page=PAGE_SIZE)
    counted = paging.count_up_to(events)
    for event in page.object_list:
        event.lines = detail_lines(event.details)
        event.config_url = _config_url(event.namespace, event.config)
    filters = form.querystring()
    one_config = _one_config(filters)
    return render(
        request,
        "audit/log.html",
        {
            "page_title": f"Audit log of {'/'.join(one_config)}" if one_config else "Audit log",
            "form": form,
            "page": page,
            "count": min(counted, paging.COUNT_BOUND),
            "more": counted > paging.COUNT_BOUND,
            "filtered": bool(filters),
            "one_config": one_config,
            "one_config_url": _config_url(*one_config) if one_config else "",
            "querystring_base": urlencode(filters) + "&" if filters else "",
            "export_query": urlencode(filters),
        },
    )


def _export(request, rows, content_type: str, extension: str):
    _, events = _filtered(request)
    pieces = rows(events)
    if isinstance(request, ASGIRequest):
        # Under ASGI, Django reads a plain iterator whole into memory before sending a byte;
        # an asynchronous one is sent piece by piece as it is read.
        pieces = export.one_by_one(pieces)
    response = StreamingHttpResponse(pieces, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.{extension}"'
    return response


@login_required
def export_csv(request):
    return _export(request, export.csv_rows, "text/csv; charset=utf-8", "csv")


@login_required
def export_jsonl(request):
    return _export(request, export.jsonl_rows, "application/jsonl; charset=utf-8", "jsonl")
