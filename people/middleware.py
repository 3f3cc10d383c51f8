"""Every console page shows and reads times in the person's own zone (UTC by default)."""

import zoneinfo

from django.utils import timezone

SESSION_KEY = "time_zone"


class TimeZoneMiddleware:
    """Activates the zone kept in the session at login (no query per request). Requests
    without a session (pipelines with tokens) stay in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = None
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            name = session.get(SESSION_KEY)
        try:
            zone = zoneinfo.ZoneInfo(name) if name else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
