"""Rate limits: a smooth limit per token and per client address, shared by every app server.

Each limit is a token bucket kept as one number, the instant the bucket would be full again
(GCRA, the "generic cell rate algorithm"): a rate of N a minute lets a client spend N/6 requests at
once and then one every 60/N seconds, so no minute's quota is spent in its first seconds and then
refused for the rest of it. The number lives in Redis when Redis answers (one round trip: a short
script that reads and writes it atomically) and in this process's memory when it does not.

What is limited (see the API section of the README):
- writes (POST, PUT, PATCH, DELETE) under /api/, per token or signed-in person and per client
  address, at API_WRITE_RATE;
- failed authentications (a wrong, revoked or expired token), per client address and per
  presented token, at API_FAILED_AUTH_RATE; over it they are answered 429 instead of 401;
- reads by tokens only when API_READ_RATE is set: a fleet of workers shares one pipeline token.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from threading import Lock

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.exceptions import Throttled

from common.cache import FAILURES, AcceleratorRedisCache

BURST_SECONDS = 10  # a full bucket holds this many seconds' worth of requests

# KEYS[1]: the bucket; ARGV: now, seconds per request, seconds of burst. Returns "0" when the
# request is let through (and counted), else the seconds to wait.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local full_at = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if full_at < now then full_at = now end
if full_at - now > burst then return tostring(full_at - now - burst) end
full_at = full_at + interval
redis.call('SET', KEYS[1], tostring(full_at), 'PX', math.ceil((full_at - now) * 1000) + 1000)
return '0'
"""

_LOCAL_LIMIT = 100_000
_local: OrderedDict[str, float] = OrderedDict()
_lock = Lock()


def forget_tallies() -> None:
    """Empty this process's buckets (tests)."""
    with _lock:
        _local.clear()


def parse_rate(rate: str, setting: str = "API_WRITE_RATE") -> int:
    """Requests a minute from '300/min'; 0 for an empty setting (no limit)."""
    if not rate.strip():
        return 0
    count, _, period = rate.partition("/")
    if period not in {"min", "minute", "m"} or not count.isdigit():
        raise ValueError(f"{setting} must look like '300/min' (or be empty), not {rate!r}.")
    return int(count)


def _shape(per_minute: int) -> tuple[float, float]:
    interval = 60.0 / per_minute
    burst_size = max(1, math.ceil(per_minute * BURST_SECONDS / 60))
    return interval, interval * (burst_size - 1)


def _in_process(key: str, now: float, interval: float, burst: float) -> float:
    with _lock:
        full_at = max(_local.get(key, now), now)
        if full_at - now > burst:
            return full_at - now - burst
        _local[key] = full_at + interval
        _local.move_to_end(key)
        while len(_local) > _LOCAL_LIMIT:
            _local.popitem(last=False)
        return 0.0


def _in_redis(cache: RedisCache, key: str, now: float, interval: float, burst: float) -> float:
    redis_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(redis_key, write=True)
    return float(client.eval(_GCRA, 1, redis_key, repr(now), repr(interval), repr(burst)))


def wait_needed(key: str, per_minute: int, now: float | None = None) -> float:
    """0 if one more request under `key` fits `per_minute` now (it is counted), else the seconds
    to wait. Counted in Redis when it answers, in this process when it does not."""
    if per_minute <= 0:
        return 0.0
    now = time.time() if now is None else now
    interval, burst = _shape(per_minute)
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        resting = isinstance(cache, AcceleratorRedisCache) and cache.is_resting()
        if not resting:
            try:
                return _in_redis(cache, f"rate:{key}", now, interval, burst)
            except FAILURES as exc:
                if isinstance(cache, AcceleratorRedisCache):
                    cache.failed(exc)
    return _in_process(f"rate:{key}", now, interval, burst)


def allows(who: str, now: float) -> bool:
    """Whether a read by `who` (a token, "t<id>") may go ahead; reads are unlimited unless
    API_READ_RATE is set."""
    per_minute = parse_rate(settings.API_READ_RATE, "API_READ_RATE")
    return wait_needed(f"read:{who}", per_minute, now) == 0


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the entry DJANGO_NUM_PROXIES proxies back in
    X-Forwarded-For (only proxies that append to it themselves may be counted)."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def _presented_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()[:32] if header else ""


def _failure_keys(request) -> list[str]:
    keys = [f"auth-failed:addr:{client_address(request)}"]
    presented = _presented_token(request)
    if presented:
        keys.append(f"auth-failed:token:{presented}")
    return keys


def authentication_failed(request) -> Throttled | None:
    """Count one failed authentication against the client's address and the presented token;
    a Throttled to raise instead of the 401 once either fails more often than
    API_FAILED_AUTH_RATE allows. A valid token is never refused for others' failures."""
    per_minute = parse_rate(settings.API_FAILED_AUTH_RATE, "API_FAILED_AUTH_RATE")
    wait = max(wait_needed(key, per_minute) for key in _failure_keys(request))
    if wait <= 0:
        return None
    return Throttled(
        wait=math.ceil(wait),
        detail="Too many failed authentications from here; wait before trying again.",
    )


class TokenRateThrottle(throttling.BaseThrottle):
    """Writes per token (or signed-in person) and per client address; reads (and views marked
    `reads_only`) per token only when API_READ_RATE is set."""

    def allow_request(self, request, view):
        if request.auth is not None and getattr(request.auth, "pk", None):
            who = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            who = f"u{request.user.pk}"
        else:
            return True  # refused by authentication anyway
        # A view that only reads over POST (an evaluation with a context) says so.
        if request.method in {"GET", "HEAD", "OPTIONS"} or getattr(view, "reads_only", False):
            keys = [f"read:{who}"]
            per_minute = parse_rate(settings.API_READ_RATE, "API_READ_RATE")
        else:
            keys = [f"write:{who}", f"write:addr:{client_address(request)}"]
            per_minute = parse_rate(settings.API_WRITE_RATE, "API_WRITE_RATE")
        waits = [wait_needed(key, per_minute) for key in keys]
        self.retry_after = max(waits)
        return self.retry_after == 0

    def wait(self):
        return math.ceil(self.retry_after)
