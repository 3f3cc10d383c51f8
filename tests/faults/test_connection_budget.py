"""Database connections stay within the budget the README gives, whatever the traffic.

The deployment (gunicorn.conf.py: uvicorn workers) on a throwaway PostgreSQL of its own, driven by
a few thousand requests of every kind at once (token reads, value/, 304s, bundles, console pages,
change requests proposed through the API, watch streams opened and closed) while another thread
counts the server's backends. Each worker holds at most DATABASE_POOL_SIZE connections in its
pool and one for the change feed, so the count never passes workers × (pool size + 1).
"""

import http.client
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.servers import (
    AppServer,
    ThrowawayPostgres,
    ThrowawayRedis,
    postgres_bin,
    redis_server,
)

pytestmark = [
    pytest.mark.skipif(
        postgres_bin() is None or redis_server() is None,
        reason="needs PostgreSQL's and Redis's server binaries (.ci/run installs them)",
    ),
]

WORKERS = 2
POOL_SIZE = 3
BUDGET = WORKERS * (POOL_SIZE + 1)
REQUESTS = 3000
CLIENTS = 16
READ = "/api/v1/configs/data-pipelines/company-timezones/"


@pytest.fixture(scope="module")
def deployed():
    postgres, redis = ThrowawayPostgres(), ThrowawayRedis()
    app = AppServer(
        postgres,
        redis,
        DATABASE_POOL_SIZE=str(POOL_SIZE),
        API_WRITE_RATE="1000000/min",
    )
    try:
        postgres.start()
        postgres.sql("CREATE DATABASE configconsole", database="postgres")
        redis.start()
        app.manage("migrate", "--no-input")
        app.manage("seed_demo")
        app.manage("collectstatic", "--no-input")
        app.start(workers=WORKERS)
        tokens = {
            "read": app.token("alice", "data-pipelines"),
            "write": app.token("alice", "data-pipelines", write=True),
        }
        yield app, postgres, tokens
    finally:
        app.close()
        redis.close()
        postgres.close()


class BackendCounter(threading.Thread):
    """Counts the app's backends in pg_stat_activity every few milliseconds (its own excluded).

    `most` is the highest count two samples in a row saw: when the pool replaces a connection,
    the closed one's backend may still be listed for the moment it takes to exit."""

    def __init__(self, postgres: ThrowawayPostgres):
        super().__init__(daemon=True)
        self.postgres = postgres
        self.most = 0
        self.peak = 0  # the highest single sample, for the failure message
        self.samples = 0
        self.stop = threading.Event()

    def run(self):
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.postgres.port, user="postgres", dbname="postgres",
            autocommit=True,
        ) as connection:  # fmt: skip
            previous = 0
            while not self.stop.is_set():
                # Client backends only: PostgreSQL's own autovacuum workers are listed under the
                # database they clean, and a write-heavy run wakes them.
                count = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'configconsole'"
                    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                self.most = max(self.most, min(count, previous))
                self.peak = max(self.peak, count)
                previous = count
                self.samples += 1
                time.sleep(0.01)


def _stream_opened_and_closed(app, token) -> tuple[int, bytes]:
    """A watch stream: open it, take its first bytes, hang up."""
    server = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    try:
        server.request(
            "GET",
            "/api/v1/namespaces/data-pipelines/watch/",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = server.getresponse()
        return response.status, b"" if response.status == 200 else response.read()
    finally:
        server.close()


def _proposal(app, token, n):
    current = app.request("GET", READ, token=token).json()
    value = current["value"]
    value["companies"].append({"company_id": f"budget-{n}", "timezone": "UTC"})
    return app.request(
        "POST",
        READ + "change-requests/",
        token=token,
        body={"value": value, "base_version": current["version"], "title": f"Budget {n}"},
    )


def test_backends_stay_within_the_pool_budget_under_every_kind_of_request(deployed):
    app, postgres, tokens = deployed
    read, write = tokens["read"], tokens["write"]
    etag = app.request("GET", READ, token=read).headers["ETag"]
    browsers = [app.signed_in("alice", "alice-demo-2026") for _ in range(4)]
    pages = ["/", "/configs/", "/configs/data-pipelines/company-timezones/", "/audit/", "/tokens/"]

    def one(n: int) -> tuple[str, int, bytes]:
        kind = random.Random(n).choice(
            ["read"] * 4 + ["value", "304", "bundle", "page", "page", "write", "stream"]
        )
        if kind == "stream":
            return kind, *_stream_opened_and_closed(app, read)
        if kind == "read":
            answer = app.request("GET", READ, token=read)
        elif kind == "value":
            answer = app.request("GET", READ + "value/", token=read)
        elif kind == "304":
            answer = app.request("GET", READ, token=read, headers={"If-None-Match": etag})
        elif kind == "bundle":
            answer = app.request("GET", "/api/v1/namespaces/data-pipelines/bundle/", token=read)
        elif kind == "page":
            opener = browsers[n % len(browsers)]
            answer = app.request("GET", pages[n % len(pages)], opener=opener)
        else:
            answer = _proposal(app, write, n)
        return kind, answer.status, answer.body

    counter = BackendCounter(postgres)
    counter.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            answers = list(clients.map(one, range(REQUESTS)))
    finally:
        counter.stop.set()
        counter.join(timeout=10)

    expected = {"read": 200, "value": 200, "304": 304, "bundle": 200, "page": 200}
    expected.update(write=201, stream=200)
    # Every kind was tried, and each answered as it does without load; any other answer is
    # shown with its body, since the status alone does not say what went wrong.
    assert {kind for kind, _, _ in answers} == set(expected)
    unexpected = [
        (kind, status, body[:500]) for kind, status, body in answers if status != expected[kind]
    ]
    assert not unexpected, unexpected
    assert counter.samples > 100
    assert 0 < counter.most <= BUDGET, f"{counter.most} backends (peak {counter.peak})"
