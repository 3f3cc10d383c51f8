"""The per-token rate limit: shared by every app server, cheap while far from the limit."""

import uuid

import pytest
from django.core.cache import caches

from configconsole import throttle

T0 = 1_800_000_020.0  # 20 s into a minute


def shared_count(who, now=T0):
    window = int(now // throttle.WINDOW) * throttle.WINDOW
    return caches["default"].get(f"throttle:{who}:{window}") or 0


def test_far_from_the_limit_hits_are_added_to_the_shared_count_in_batches():
    counts = [throttle.count_hit("t1", 1000, T0 + i * 0.01) for i in range(49)]

    assert counts == list(range(1, 50))
    assert shared_count("t1") == 0  # nothing sent yet: fewer than limit / 20 hits, within 1 s
    throttle.count_hit("t1", 1000, T0 + 0.5)
    assert shared_count("t1") == 50


def test_pending_hits_reach_the_shared_count_within_a_second():
    throttle.count_hit("t1", 1000, T0)
    throttle.count_hit("t1", 1000, T0 + 0.2)

    throttle.count_hit("t1", 1000, T0 + 1.2)

    assert shared_count("t1") == 3


def test_other_servers_hits_count_against_the_same_limit():
    # Another server has already used up 8 of the 10 allowed this minute.
    window = int(T0 // throttle.WINDOW) * throttle.WINDOW
    caches["default"].set(f"throttle:t1:{window}", 8)

    counts = [throttle.count_hit("t1", 10, T0 + i) for i in range(3)]

    assert counts == [9, 10, 11]


def test_a_new_minute_starts_a_new_count():
    for i in range(5):
        throttle.count_hit("t1", 5, T0 + i)

    assert throttle.count_hit("t1", 5, T0 + 60) == 1


@pytest.mark.parametrize("rate", ["100", "100/hour", "x/min", ""])
def test_a_rate_that_is_not_per_minute_is_refused_clearly(rate):
    with pytest.raises(ValueError, match="1200/min"):
        throttle.parse_rate(rate)


def test_with_redis_the_count_is_one_atomic_round_trip(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    cache = caches["default"]
    try:
        assert throttle._add_to_shared("throttle:t9:0", 3) == 3
        assert throttle._add_to_shared("throttle:t9:0", 2) == 5
        redis_key = cache.make_and_validate_key("throttle:t9:0")
        client = cache._cache.get_client(redis_key)
        assert 0 < client.ttl(redis_key) <= throttle.WINDOW + 5
    finally:
        cache.clear()
