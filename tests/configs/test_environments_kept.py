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


def test_a_read_a_change_here_overtook_is_not_kept_as_fresh(monkeypatch):
    """A read that began before a change in this process (its forget()) may hold what the change
    replaced: it is used, but read again next time, not trusted for FRESH_FOR seconds."""
    environments.every()
    read = environments._model().objects.order_by

    def read_overtaken(*fields):
        rows = read(*fields)
        environments.forget()  # the change commits while the read is under way
        return rows

    environments.forget()
    monkeypatch.setattr(environments._model().objects, "order_by", read_overtaken)
    environments.every()

    assert environments.default_id_if_known() is None  # not fresh: Django reads them again
