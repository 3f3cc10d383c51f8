"""The uvicorn server the watch tests use, and the hot-read tests' layering with reads from
memory on (and their token), serve the OpenFeature tests too."""

from tests.push.conftest import asgi_server, secret, served  # noqa: F401
