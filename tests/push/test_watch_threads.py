"""A watch stream's database work runs on threads every stream shares (push/watch.py). A
database that failed to answer one stream's question must not refuse another stream's next
question on the same thread: under load one slow moment turned into several streams answering
503 "The database is not answering" without asking it."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from common.postgresql.base import _note_no_answer
from configs.models import Config
from push.watch import _in_thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the answer deadline is PostgreSQL's backend"
)
def test_a_stream_asks_the_database_even_after_another_streams_question_failed(demo):
    async def two_streams() -> int:
        # One thread, so both questions land on it, as they may among the shared threads.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
        await _in_thread(_note_no_answer)  # the first stream's question found no answer
        return await _in_thread(Config.objects.count)

    # A loop of its own, in a thread of its own: an earlier test (Playwright's) may have left
    # one running in this thread, where asyncio.run() refuses to start.
    with ThreadPoolExecutor(1) as runner:
        counted = runner.submit(asyncio.run, two_streams()).result()
    assert counted == Config.objects.count() > 0
