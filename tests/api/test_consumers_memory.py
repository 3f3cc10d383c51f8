"""Recording who reads what adds no query to a read served from memory either (PostgreSQL only:
memory is used only while LISTEN/NOTIFY carries the change feed)."""

import os

import pytest

from configs import consumers
from configs.models import Consumer
from tests.push.test_memory_reads import reader, reads_from_memory, version_read  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="reads from memory need PostgreSQL's LISTEN/NOTIFY (run with DATABASE_URL)",
    ),
]


def test_a_read_from_memory_is_recorded_without_asking_the_database(
    reads_from_memory,  # noqa: F811
    reader,  # noqa: F811
    django_assert_num_queries,
):
    status, version = version_read(reader)
    assert status == 200
    consumers.forget()  # so that the next read is noted again

    with django_assert_num_queries(0):
        assert version_read(reader) == (200, version)

    assert consumers.flush() == 1
    assert Consumer.objects.get().last_version.number == version
