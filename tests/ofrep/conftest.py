"""The uvicorn server the watch tests use, and the hot-read tests' layering with reads from
memory on, serve the OpenFeature tests too."""

from tests.push.conftest import asgi_server  # noqa: F401
from tests.push.test_hot_reads import served  # noqa: F401
