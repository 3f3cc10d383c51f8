"""Redis is an accelerator: with it unreachable, reads carry on from the database."""

import time

import pytest

from common import cache as accelerator
from tests.api.conftest import client_for, make_token


@pytest.fixture
def pipeline_token(alice):
    _token, secret = make_token(alice, "data-pipelines")
    return secret


def test_reads_answer_from_the_database_when_redis_is_down(
    unreachable_redis, pipeline_token, timezones
):
    api = client_for(pipeline_token)
    url = "/api/v1/configs/data-pipelines/company-timezones/"

    answers = [api.get(url) for _ in range(20)]

    assert {answer.status_code for answer in answers} == {200}
    assert answers[-1].json()["key"] == "company-timezones"


def test_an_outage_costs_one_timeout_per_interval_not_one_per_request(
    unreachable_redis, pipeline_token, timezones
):
    from django.core.cache import caches

    cache = caches["default"]

    cache.get("anything")  # the first failure
    started = time.monotonic()
    for _ in range(50):
        assert cache.get("anything", "missed") == "missed"

    assert time.monotonic() - started < 0.2  # fifty timeouts would take ten seconds


def test_redis_is_asked_again_after_the_retry_interval(unreachable_redis, settings, monkeypatch):
    from django.core.cache import caches

    cache = caches["default"]

    settings.REDIS_RETRY_AFTER = 0.05
    cache.get("anything")
    assert cache.is_resting()

    time.sleep(0.06)

    assert not cache.is_resting()
    calls = []
    monkeypatch.setattr(
        accelerator.RedisCache, "get", lambda self, *args: calls.append(args) or "back"
    )
    assert cache.get("anything") == "back"
    assert calls
