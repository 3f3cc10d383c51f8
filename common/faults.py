"""What the console answers when a dependency fails, and the health endpoints that report it.

The database down, unreachable or not answering within its timeouts is not a bug to report as a
500: the request gets a 503 with Retry-After (JSON under /api/, a page elsewhere) and the next
request connects afresh.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from common import cache
from common.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

UNAVAILABLE = "The database is not answering; try again in a few seconds."


def is_database_unavailable(exc: BaseException | None) -> bool:
    # OperationalError covers refused and dropped connections, timeouts and cancelled
    # statements; InterfaceError a connection that was already closed.
    return isinstance(exc, (OperationalError, InterfaceError))


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After; the page is rendered without the request, whose session and user
    would need the database."""
    refused = DatabaseUnavailable(UNAVAILABLE)
    words, status = refused.for_people(), refused.status
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": words}, status=status)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": words}), status=status)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database failure in a view into a 503 (failures in middleware reach handler500,
    which does the same)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            logger.warning("Database unavailable for %s: %s", request.path, exception)
            return database_unavailable(request)
        return None


def database_problem() -> str | None:
    """None when the database answers a query now, else why not."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        if not connection.in_atomic_block:
            connection.close()
        return str(exc).strip() or type(exc).__name__
    return None


@csrf_exempt
@never_cache
@require_GET
def healthz(request):
    """The process is alive and answering; nothing else is asked."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
@require_GET
def readyz(request):
    """Whether this server can do its work: the database and the cache, each asked now."""
    problems = {"database": database_problem(), "cache": cache.ping()}
    body = {name: "ok" if problem is None else "down" for name, problem in problems.items()}
    down = [name for name, problem in problems.items() if problem is not None]
    if down:
        body["detail"] = " ".join(f"The {name} is down: {problems[name]}." for name in down)
        return JsonResponse(body, status=503)
    return JsonResponse(body)
