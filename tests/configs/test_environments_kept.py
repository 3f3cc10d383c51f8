"""The environments each process keeps: read again when stale, never by a query on the event
loop's thread (where the deployment answers warm reads: configs/api/hot.py)."""

import asyncio
import concurrent.futures

import pytest

from configs import environments

pytestmark = pytest.mark.django_db


def on_an_event_loop(function):
    async def call():
        return function()

    # On a thread of its own, as tests/push/test_hot_reads.py does (pytest-playwright may hold
    # an event loop on the main thread).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, call()).result()


def test_stale_environments_are_read_again(django_assert_num_queries):
    environments.every()
    environments.forget()

    with django_assert_num_queries(1):
        names = [env.name for env in environments.every()]

    assert names == ["development", "staging", "production"]


def test_on_the_event_loop_the_kept_environments_are_used_without_a_query(monkeypatch):
    environments.every()
    environments.forget()
    # As deployed: Django refuses a query on an event loop's thread (SynchronousOnlyOperation).
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)

    default = on_an_event_loop(environments.default)

    assert default.name == "production"
