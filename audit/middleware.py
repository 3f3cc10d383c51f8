"""Refused requests go in the audit log."""

from django.core.exceptions import PermissionDenied

from audit.services import record_denied


class DeniedActionMiddleware:
    """Records every PermissionDenied a console view raises, then lets Django answer 403.

    `process_exception` runs after the view's atomic blocks have rolled back, so the event is
    written (and committed) on its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            record_denied(request, exception)
        return None
