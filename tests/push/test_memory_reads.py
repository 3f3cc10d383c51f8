"""Reads from memory: a warm read asks the database nothing, and every change that matters
reaches it through the feed; without a healthy feed reads ask the database again.

PostgreSQL only: memory is used only while LISTEN/NOTIFY carries the feed.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from configs.models import Membership, Namespace
from configs.services import token_revoke
from push.feed import feed
from push.memory import memory
from tests.push.conftest import publish_metric, read_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="reads from memory need PostgreSQL's LISTEN/NOTIFY (run with DATABASE_URL)",
    ),
]

URL = "/api/v1/configs/sales-ops/custom-metrics/"
ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def reads_from_memory(settings):
    settings.READS_FROM_MEMORY = True
    memory.clear()
    feed.ensure_started()
    assert wait_for(feed.healthy)
    yield
    feed.stop()
    memory.clear()


@pytest.fixture
def reader(alice):
    token, secret = read_token(alice, "sales-ops")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token = token
    time.sleep(0.5)  # the feed tells this process of the token's creation: let it arrive
    return client


def version_read(client):
    response = client.get(URL)
    return response.status_code, response.json().get("version")


def test_a_warm_read_asks_the_database_nothing(
    reads_from_memory, reader, django_assert_num_queries
):
    status, version = version_read(reader)
    assert status == 200

    with django_assert_num_queries(0):
        assert version_read(reader) == (200, version)


def test_a_publish_is_read_from_memory_once_the_feed_tells(reads_from_memory, reader, carol):
    _, before = version_read(reader)

    published = publish_metric(carol, "signups")

    assert wait_for(lambda: version_read(reader) == (200, published.number))
    assert published.number == before + 1


def test_a_revoked_token_stops_reading(reads_from_memory, reader, alice):
    assert version_read(reader)[0] == 200

    token_revoke(token=reader.token, actor=alice, reason="Leaked")

    assert wait_for(lambda: reader.get(URL).status_code == 401)


def test_a_removed_member_stops_reading(reads_from_memory, reader, alice):
    assert version_read(reader)[0] == 200

    Membership.objects.filter(
        user=alice, namespace=Namespace.objects.get(slug="sales-ops")
    ).delete()

    assert wait_for(lambda: reader.get(URL).status_code == 404)


def test_a_scheduled_version_is_read_from_its_time(reads_from_memory, reader, carol):
    from datetime import timedelta

    from django.utils import timezone

    version_read(reader)
    when = timezone.now() + timedelta(seconds=1)
    scheduled = publish_metric(carol, "refunds", effective_at=when)
    version_read(reader)  # remembered with its end: the scheduled version's time

    assert wait_for(lambda: version_read(reader) == (200, scheduled.number))
    assert timezone.now() >= when


def test_with_the_feed_cut_reads_ask_the_database_and_stay_correct(
    reads_from_memory, reader, carol, django_assert_num_queries
):
    version_read(reader)
    feed.stop(cut=True)  # the listener is gone: no heartbeat, so memory is not trusted

    published = publish_metric(carol, "signups")

    assert version_read(reader) == (200, published.number)  # prepares the new version's bytes
    with django_assert_num_queries(1):  # the one-statement read, every time
        assert version_read(reader) == (200, published.number)


@pytest.fixture
def two_app_servers(transactional_db):
    """Two app servers as deployed (gunicorn.conf.py, one worker each) on the test database, each
    with its own memory and listener."""
    settings = connection.settings_dict
    database = (
        f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )
    environment = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_DEBUG": "1",
        "DJANGO_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "configconsole.settings",
        "READS_FROM_MEMORY": "1",
    }
    servers, urls = [], []
    for port in _free_ports(2):
        servers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=environment,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            assert wait_for(lambda url=url: _answers(url), seconds=60)
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


def _free_ports(count):
    ports = []
    for port in range(8260, 8270):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                ports.append(port)
        if len(ports) == count:
            return ports
    pytest.fail("No free port in 8260-8269")


def _answers(url):
    try:
        urllib.request.urlopen(f"{url}/healthz", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _read(url, secret):
    request = urllib.request.Request(f"{url}{URL}", headers={"Authorization": f"Bearer {secret}"})
    import json

    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["version"]


def test_a_publish_is_read_on_both_app_servers(two_app_servers, alice, carol):
    _, secret = read_token(alice, "sales-ops")
    first, second = two_app_servers
    before = _read(first, secret)
    assert _read(second, secret) == before
    _read(second, secret)  # warm: from memory now

    published = publish_metric(carol, "signups")

    assert wait_for(lambda: _read(first, secret) == published.number)
    assert wait_for(lambda: _read(second, secret) == published.number)
