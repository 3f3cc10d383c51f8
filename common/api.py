"""The API's edge: strict JSON in, JSON errors out.

Everything under /api/ answers in JSON, whatever goes wrong: domain errors from the services,
bodies that are not acceptable JSON, bodies that are too large, unknown URLs and crashes.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.urls import is_valid_path
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, negotiation, pagination, parsers, status
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from common import faults
from common.errors import DomainError
from common.jsontext import BadJSON, parse_json
from common.keyset import keyset_page
from common.signals import access_refused


class StrictJSONParser(parsers.JSONParser):
    """JSON as the console accepts it: no NaN, Infinity, huge numbers, duplicate keys or deep
    nesting (which would otherwise overflow the stack and crash the worker)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return parse_json(raw)
        except BadJSON as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc.for_people()}") from exc


def exception_handler(exc, context):
    """Domain errors become statuses; every error body is JSON with `detail` (or `errors`)."""
    from common.messages import in_words, status_of

    if isinstance(exc, (DomainError, DjangoValidationError)):
        fields = exc.api_fields() if isinstance(exc, DomainError) else {}
        return Response({"detail": in_words(exc), **fields}, status=status_of(exc))
    if isinstance(exc, exceptions.ValidationError) and not _is_plain(exc.detail):
        problems = _problems(exc.detail)
        count = len(problems)
        return Response(
            {
                "detail": f"The request has {count} problem{'s' if count != 1 else ''}.",
                "errors": problems,
            },
            status=400,
        )
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The body is larger than the {limit} bytes a request may carry."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    # Imported here: rest_framework.views reads these settings, which name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        request = context.get("request")
        if request is not None:
            access_refused.send(exception_handler, request=request, exc=exc)
    return drf_exception_handler(exc, context)


def _is_plain(detail) -> bool:
    # A view's own ValidationError({"detail": "…"}) already reads as one message.
    return isinstance(detail, dict) and set(detail) == {"detail"}


def _problems(detail, path: str = "") -> list[dict[str, str]]:
    """DRF's nested {field: [messages]} as [{path, message}], like a value's problems."""
    if isinstance(detail, dict):
        return [
            problem
            for key, nested in detail.items()
            for problem in _problems(nested, path if key == "non_field_errors" else f"{path}/{key}")
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"path": path, "message": str(item)} for item in detail]
        return [
            problem
            for index, item in enumerate(detail)
            for problem in _problems(item, f"{path}/{index}")
        ]
    return [{"path": path, "message": str(detail)}]


def _api_error(request, status_code: int, detail: str):
    return JsonResponse({"detail": detail}, status=status_code)


def is_api(request) -> bool:
    return request.path.startswith(("/api/", "/ofrep/"))


class JSONOnly(negotiation.DefaultContentNegotiation):
    """Every answer is JSON, whatever the Accept header asks for: a 406 would only hide the
    error or value a pipeline needs, and the hot read path answers JSON the same way."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class Pagination(pagination.BasePagination):
    """Every API list: `{count, next, previous, results}`, pages cut by keyset (common.keyset),
    so a page far down a long list costs what the first costs. `next` and `previous` are whole
    addresses carrying `cursor`; a client follows them and never builds one. `page_size` as
    before. `?page=` is refused (it used to number the pages): a client counting pages would
    otherwise read the first page again and again."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = "cursor"

    def get_page_size(self, request):
        """The asked-for page size; one that is not a whole number from 1 is a 400 (DRF would
        quietly use the default), one above the most is cut to it (as documented)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise exceptions.ValidationError(
                {
                    "detail": f"page_size must be a whole number from 1 to {self.max_page_size}, "
                    f"not {raw[:40]!r}."
                }
            )
        return min(int(raw), self.max_page_size)

    def count(self, queryset) -> int:
        """How many rows the list has in all (a subclass may bound or estimate it)."""
        return queryset.order_by().count()

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get("page", "1") != "1":
            raise exceptions.ValidationError(
                {
                    "detail": "page is not used: follow the answer's `next` and `previous` "
                    "addresses (they carry a cursor)."
                }
            )
        self.request = request
        self.page = keyset_page(
            queryset,
            cursor=request.query_params.get(self.cursor_query_param) or None,
            per_page=self.get_page_size(request),
        )
        self.total = self.count(queryset)
        return self.page.object_list

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.total,
                "next": self._link(self.page.older),
                "previous": self._link(self.page.newer),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {**link, "description": "The next page (older); null on the last."},
                "previous": {**link, "description": "The page before; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where a page starts: taken from `next` or `previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


@csrf_exempt  # nothing here changes anything; a CSRF refusal would hide the real answer
def not_found(request, rest: str = ""):
    """Anything else under /api/: a JSON 404, and the fix when only the final slash is missing.

    Without this, Django would redirect to the address with a slash: an HTML 301 that drops a
    POST's body (and, in debug, an error page)."""
    path = request.path
    if not path.endswith("/") and is_valid_path(path + "/"):
        return _api_error(request, 404, f"Add the final slash: {path}/")
    return _api_error(request, 404, "There is nothing at this address.")


def _page_or_json(status_code: int, detail: str, page):
    def handler(request, exception=None, **kwargs):
        if is_api(request):
            return _api_error(request, status_code, detail)
        if exception is None:
            return page(request)
        return page(request, exception)

    return handler


def csrf_failure(request, reason=""):
    """Django's CSRF refusal page, except under /api/ (sessions writing without the token)."""
    if is_api(request):
        return _api_error(request, 403, f"CSRF check failed: {reason}")
    return csrf.csrf_failure(request, reason)


# Django's own error pages, except under /api/, where the answer is JSON like every other.
handler400 = _page_or_json(400, "The request could not be understood.", defaults.bad_request)
handler403 = _page_or_json(
    403, "You do not have permission to do this.", defaults.permission_denied
)
handler404 = _page_or_json(404, "There is nothing at this address.", defaults.page_not_found)
_server_error = _page_or_json(
    500, "Something went wrong on our side; it was logged.", defaults.server_error
)


def handler500(request):
    """A crash is a 500; the database failing under a middleware (sessions, sign-in) is a 503,
    as it is in a view (common.faults)."""
    if faults.is_database_unavailable(sys.exc_info()[1]):
        return faults.database_unavailable(request)
    return _server_error(request)
