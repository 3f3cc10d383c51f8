"""Sign-in throttling with django-axes, for sign-ins that come with a request."""

from axes.backends import AxesStandaloneBackend


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' lock-out check for every sign-in through a page or the admin (they pass the request).

    An `authenticate()` without a request (a script, a test's `client.login()`) has no client
    address to count and no page to answer with, and axes would refuse it outright: it is left to
    the next backend, which checks the password as usual."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
