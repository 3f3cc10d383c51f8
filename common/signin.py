"""Sign-in throttling with django-axes, for sign-ins that come with a request."""

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied

# Set on the request when axes refuses a sign-in because of a lock; the audit app reads it
# (audit/receivers.py) to count the refusal on the lock instead of writing an event per attempt.
REFUSED_WHILE_LOCKED = "sign_in_refused_while_locked"


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' lock-out check for every sign-in through a page or the admin (they pass the request).

    An `authenticate()` without a request (a script, a test's `client.login()`) has no client
    address to count and no page to answer with, and axes would refuse it outright: it is left to
    the next backend, which checks the password as usual."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            # Refused by the lock, not by a wrong password: audited on the lock, not one event
            # per attempt (audit/receivers.py).
            setattr(request, REFUSED_WHILE_LOCKED, True)
            raise
