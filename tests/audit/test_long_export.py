"""An export that takes longer than a worker's timeout still runs to its end.

Behind gunicorn as the README deploys it (uvicorn workers), with a two-second worker timeout,
a client that reads a large CSV export slowly for several seconds gets every row. The app
server reads the database in short keyset chunks, so no statement outlives the database's
statement timeout either.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from audit import export
from audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = 2  # seconds: the export below takes several times longer
EVENTS = 60_000  # about 12 MB of CSV: far more than the sockets between them can hold


def event(n, at):
    return AuditEvent(
        at=at,
        actor_name="alice",
        action="change_request.commented",
        namespace="sales-ops",
        config="custom-metrics",
        target_type="reviews.changerequest",
        target_id=str(n),
        target_repr=f"#{n} a change request with a title of some length",
        reason=f"comment {n}: which teams does this affect, and from when?",
    )


@pytest.mark.django_db
def test_events_with_the_same_instant_are_each_exported_once_in_chunks():
    at = timezone.now()
    AuditEvent.objects.bulk_create(event(n, at) for n in range(10))
    AuditEvent.objects.bulk_create(event(n, at - timedelta(seconds=1)) for n in range(10, 17))

    sent = list(export.in_chunks(AuditEvent.objects.all(), size=3))

    assert [e.target_id for e in sent] == [str(n) for n in [*range(9, -1, -1), *range(16, 9, -1)]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """The console behind gunicorn with the deployment's settings and a 2 s worker timeout,
    on this test's (committed) PostgreSQL database."""
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_DEBUG": "0",
        # The test's own key: the session it signs in with is signed with it.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SSL_REDIRECT": "0",
    }
    env.pop("REDIS_URL", None)
    log = tmp_path / "gunicorn.log"
    log = log.open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "--workers",
            "1",
            "--timeout",
            str(WORKER_TIMEOUT),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        print((tmp_path / "gunicorn.log").read_text())  # shown when the test fails


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gunicorn needs a database it can share with the test (run with DATABASE_URL=postgres://…)",
)
def test_a_csv_export_longer_than_the_worker_timeout_arrives_whole(gunicorn, client):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    start = timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        (event(n, start + timedelta(seconds=n)) for n in range(EVENTS)), batch_size=5000
    )
    client.force_login(root)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    server = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    # A small receive window, so the server has to wait for this reader (left to itself, the
    # kernel would buffer megabytes and the server would finish at once).
    server.sock = socket.socket()
    server.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    server.sock.settimeout(30)
    server.sock.connect(("127.0.0.1", gunicorn))
    started = time.monotonic()
    path = "/audit/export.csv?action=change_request.commented"
    server.request("GET", path, headers={"Cookie": cookie})
    response = server.getresponse()
    body = bytearray()
    while piece := response.read(64 * 1024):  # a slow reader: the server waits on it
        body += piece
        time.sleep(0.05)
    elapsed = time.monotonic() - started

    assert response.status == 200, bytes(body[:500])
    lines = body.decode().splitlines()
    assert len(lines) == EVENTS + 1  # the header and every event
    assert lines[-1].split(",")[7] == "0"  # down to the oldest
    assert elapsed > 3 * WORKER_TIMEOUT, "the export was too quick to test the timeout"
