"""Requests no page or endpoint can handle, refused before any of them sees them."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from common.errors import BadAddress

NUL_MESSAGE = "The address contains a NUL character (%00), which nothing here can store or find."


class RejectNulMiddleware:
    """PostgreSQL refuses NUL in any text it is given, so a `?q=%00` reaching a query would be a
    500 (SQLite would quietly treat it otherwise). Forms already refuse NUL in what they read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
            refused = BadAddress(NUL_MESSAGE)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": refused.for_people()}, status=refused.status)
            return HttpResponse(
                refused.for_people(),
                status=refused.status,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """The Permissions-Policy header (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
