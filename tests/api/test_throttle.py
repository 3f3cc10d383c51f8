"""Rate limits: token reads unlimited by default; writes and failed authentications limited per
token and per client address, smoothly, in Redis when it answers and per process when not."""

import uuid

import pytest
from django.core.cache import caches

from common import throttle
from tests.api.conftest import client_for, make_token

READ = "/api/v1/configs/data-pipelines/company-timezones/"
PROPOSE = "/api/v1/configs/data-pipelines/company-timezones/change-requests/"
T0 = 1_800_000_020.0


def allowed_per_second(per_minute, rate_per_second, seconds, key="k"):
    """How many of a steady stream of requests each second lets through."""
    counts = []
    for second in range(seconds):
        now = [T0 + second + i / rate_per_second for i in range(rate_per_second)]
        counts.append(sum(throttle.wait_needed(key, per_minute, t) == 0 for t in now))
    return counts


def test_token_reads_are_not_limited_by_default(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    api = client_for(secret)

    answers = {api.get(READ).status_code for _ in range(300)}

    assert answers == {200}


def test_a_limit_spreads_over_the_minute_instead_of_refusing_most_of_it():
    # A pipeline at 100 requests a second against 1200 a minute: a fixed window let 1,200
    # through in the first 12 s and refused the other 48 s.
    counts = allowed_per_second(1200, 100, 120)

    assert sum(counts[:12]) < 500
    assert min(counts[12:]) >= 19  # about 20 a second, every second
    assert sum(counts[60:]) == pytest.approx(1200, abs=25)


def test_a_burst_of_a_few_seconds_worth_passes_at_once():
    counts = allowed_per_second(600, 1000, 1)

    # Ten seconds' worth at once, plus what refills within the second.
    assert counts[0] == pytest.approx(100 + 10, abs=1)


def test_an_empty_rate_means_no_limit():
    assert all(throttle.wait_needed("k", 0, T0) == 0 for _ in range(1000))


@pytest.mark.parametrize("rate", ["100", "100/hour", "x/min"])
def test_a_rate_that_is_not_per_minute_is_refused_clearly(rate):
    with pytest.raises(ValueError, match="API_WRITE_RATE must look like '300/min'"):
        throttle.parse_rate(rate)


def test_reads_are_limited_when_an_operator_sets_a_read_rate(alice, timezones, settings):
    settings.API_READ_RATE = "6/min"
    _token, secret = make_token(alice, "data-pipelines")
    api = client_for(secret)

    answers = [api.get(READ) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 429]
    assert 0 < int(answers[1]["Retry-After"]) <= 10
    assert "throttled" in answers[1].json()["detail"].lower()


def _propose(api, timezones):
    return api.post(
        PROPOSE,
        {"value": {"nothing": "valid"}, "base_version": 1, "title": "t"},
        format="json",
    )


def test_writes_are_limited_per_token(alice, timezones, settings):
    settings.API_WRITE_RATE = "6/min"
    _token, secret = make_token(alice, "data-pipelines", write=True)
    api = client_for(secret)

    first, second = _propose(api, timezones), _propose(api, timezones)

    assert first.status_code != 429
    assert second.status_code == 429
    assert 0 < int(second["Retry-After"]) <= 10


def test_writes_are_limited_per_client_address_across_tokens(
    alice, bob, carol, timezones, settings
):
    settings.API_WRITE_RATE = "6/min"
    _token, first = make_token(alice, "data-pipelines", write=True)
    _token, second = make_token(bob, "data-pipelines", write=True)
    _token, third = make_token(carol, "data-pipelines", write=True)

    assert _propose(client_for(first), timezones).status_code != 429
    assert _propose(client_for(second), timezones).status_code == 429
    elsewhere = client_for(third).post(
        PROPOSE, {"value": {}, "base_version": 1, "title": "t"}, REMOTE_ADDR="10.0.0.9"
    )
    assert elsewhere.status_code != 429


def test_failed_authentications_are_limited_but_a_valid_token_still_reads(
    alice, timezones, settings
):
    settings.API_FAILED_AUTH_RATE = "6/min"
    _token, secret = make_token(alice, "data-pipelines")
    wrong = client_for("cc_" + "x" * 40)

    answers = [wrong.get(READ).status_code for _ in range(3)]

    assert answers == [401, 429, 429]
    assert client_for(secret).get(READ).status_code == 200


def test_failed_authentications_are_counted_per_presented_token_across_addresses(
    alice, timezones, settings
):
    settings.API_FAILED_AUTH_RATE = "6/min"
    wrong = client_for("cc_" + "y" * 40)

    first = wrong.get(READ, REMOTE_ADDR="10.0.0.1")
    second = wrong.get(READ, REMOTE_ADDR="10.0.0.2")

    assert (first.status_code, second.status_code) == (401, 429)


def test_behind_a_proxy_the_address_it_appended_is_counted(rf, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5", REMOTE_ADDR="10.0.0.1")

    assert throttle.client_address(request) == "203.0.113.5"


def test_writes_are_still_limited_per_process_when_redis_is_down(
    alice, timezones, settings, unreachable_redis
):
    settings.API_WRITE_RATE = "6/min"
    _token, secret = make_token(alice, "data-pipelines", write=True)
    api = client_for(secret)

    assert _propose(api, timezones).status_code != 429
    assert _propose(api, timezones).status_code == 429


@pytest.fixture
def shared_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.AcceleratorRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    return caches["default"]


def test_with_redis_every_server_counts_against_the_same_bucket(shared_redis):
    assert throttle.wait_needed("k", 6, T0) == 0
    throttle.forget_tallies()  # another server: nothing in its memory

    assert throttle.wait_needed("k", 6, T0 + 1) == pytest.approx(9)
    redis_key = shared_redis.make_and_validate_key("rate:k")
    client = shared_redis._cache.get_client(redis_key)
    assert 0 < client.pttl(redis_key) <= 12_000
    client.delete(redis_key)
