"""Per-token rate limiting across every app server, at about one cache round trip a second.

The count for a token and minute lives in the shared cache (Redis when configured), so the limit
holds however many servers answer. Each process adds its hits to it in batches: at least once a
second, every `limit / 20` hits, and on every hit once the count is near the limit, so a token
gets at most a few requests more than its rate while the common case costs no round trip.
DRF's own throttles keep a list of timestamps per client and write it back on every request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from threading import Lock

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling

WINDOW = 60
SYNC_EVERY = 1.0  # seconds


@dataclass
class _Tally:
    shared: int = 0  # the count in the shared cache when this process last looked
    pending: int = 0  # this process's hits not yet added to it
    synced_at: float = 0.0


_tallies: dict[tuple[str, int], _Tally] = {}
_lock = Lock()


def _add_to_shared(key: str, amount: int) -> int:
    """Add `amount` to the shared counter `key` (made with an expiry if new); return the total."""
    cache = caches["default"]
    timeout = WINDOW + 5
    if isinstance(cache, RedisCache):
        # INCRBY creates a missing key and is atomic; with EXPIRE NX in one pipeline this is a
        # single round trip, where Django's incr() asks EXISTS first.
        redis_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(redis_key, write=True).pipeline(transaction=False)
        pipe.incrby(redis_key, amount)
        pipe.expire(redis_key, timeout, nx=True)
        return pipe.execute()[0]
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add() and incr()
        cache.add(key, amount, timeout=timeout)
        return amount


def count_hit(who: str, limit: int, now: float) -> int:
    """Record one request by `who` in the current window; return the window's count so far."""
    window = int(now // WINDOW) * WINDOW
    with _lock:
        tally = _tallies.get((who, window))
        if tally is None:
            for stale in [k for k in _tallies if k[1] < window]:
                del _tallies[stale]
            tally = _tallies[(who, window)] = _Tally(synced_at=now)
        tally.pending += 1
        seen = tally.shared + tally.pending
        due = (
            tally.pending >= max(1, limit // 20)
            or now - tally.synced_at >= SYNC_EVERY
            or seen >= limit  # near the limit, every hit counts at once
        )
        if not due:
            return seen
        tally.shared = _add_to_shared(f"throttle:{who}:{window}", tally.pending)
        tally.pending = 0
        tally.synced_at = now
        return tally.shared


def forget_tallies() -> None:
    with _lock:
        _tallies.clear()


def allows(who: str, now: float) -> bool:
    """Whether `who` may make one more request now (which is counted)."""
    limit = parse_rate(settings.API_THROTTLE_RATE)
    return count_hit(who, limit, now) <= limit


class TokenRateThrottle(throttling.BaseThrottle):
    """API_THROTTLE_RATE requests a minute per token (or per signed-in person)."""

    def __init__(self):
        self.limit = parse_rate(settings.API_THROTTLE_RATE)

    def allow_request(self, request, view):
        if request.auth is not None and getattr(request.auth, "pk", None):
            who = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            who = f"u{request.user.pk}"
        else:
            return True  # refused by authentication anyway
        now = time.time()
        self.retry_after = WINDOW - now % WINDOW
        return count_hit(who, self.limit, now) <= self.limit

    def wait(self):
        return self.retry_after


def parse_rate(rate: str) -> int:
    count, _, period = rate.partition("/")
    if period not in {"min", "minute", "m"} or not count.isdigit():
        raise ValueError(f"API_THROTTLE_RATE must look like '1200/min', not {rate!r}.")
    return int(count)
