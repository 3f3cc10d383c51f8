import socket
import uuid

import pytest


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe closes


@pytest.fixture
def unreachable_redis(settings):
    """The cache is Redis at an address where nothing answers."""
    from configconsole import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "configconsole.cache.AcceleratorRedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    yield
    cache._down_until.clear()
