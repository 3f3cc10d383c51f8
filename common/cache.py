"""Redis as an accelerator, never a single point of failure.

When Redis cannot be reached (or does not answer within REDIS_TIMEOUT), a read misses and a write
is dropped, so every caller carries on from the database and process memory. After a failure the
process leaves Redis alone for REDIS_RETRY_AFTER seconds, so an outage costs one timeout per
process and interval rather than one per request, and then tries again on its own.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

FAILURES = (RedisError, OSError)

# Per process, by Redis address: Django makes one cache object per thread.
_down_until: dict[str, float] = {}


class AcceleratorRedisCache(RedisCache):
    @property
    def _address(self) -> str:
        return ",".join(self._servers)

    def is_resting(self) -> bool:
        return time.monotonic() < _down_until.get(self._address, 0.0)

    def failed(self, exc: BaseException) -> None:
        if not self.is_resting():
            logger.warning("Redis is unavailable; carrying on without it: %s", exc)
        _down_until[self._address] = time.monotonic() + settings.REDIS_RETRY_AFTER

    def recovered(self) -> None:
        _down_until.pop(self._address, None)

    def call(self, operation, *args, default=None):
        """`operation(*args)` against Redis, or `default` while Redis is down."""
        if self.is_resting():
            return default
        try:
            return operation(*args)
        except FAILURES as exc:
            self.failed(exc)
            return default

    def get(self, key, default=None, version=None):
        return self.call(super().get, key, default, version, default=default)

    def get_many(self, keys, version=None):
        return self.call(super().get_many, keys, version, default={})

    def has_key(self, key, version=None):
        return self.call(super().has_key, key, version, default=False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self.call(super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.call(super().set_many, data, timeout, version, default=[])

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.call(super().add, key, value, timeout, version, default=False)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.call(super().touch, key, timeout, version, default=False)

    def delete(self, key, version=None):
        return self.call(super().delete, key, version, default=False)

    def delete_many(self, keys, version=None):
        return self.call(super().delete_many, keys, version)


def ping() -> str | None:
    """None when the cache answers, else why not. Asks even while Redis is being left alone."""
    from django.core.cache import caches

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    try:
        cache._cache.get_client(write=True).ping()
    except FAILURES as exc:
        return str(exc) or type(exc).__name__
    if isinstance(cache, AcceleratorRedisCache):
        cache.recovered()
    return None
