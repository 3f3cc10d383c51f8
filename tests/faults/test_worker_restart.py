"""The webhook worker outlives a database restart: a publish after PostgreSQL came back is still
delivered, by the same `manage.py db_worker` process the README says to run."""

import http.server
import json
import subprocess
import sys
import threading
import time

import pytest

from tests.faults.servers import (
    PROJECT,
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

CONFIG = "/api/v1/configs/sales-ops/custom-metrics/"


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on this machine that keeps every body it is sent."""

    def __init__(self):
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def versions(self) -> list[int]:
        return [body["version"] for body in self.bodies if body.get("event") == "version.published"]


def wait_until(check, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def publish(app, token) -> int:
    current = app.request("GET", CONFIG, token=token).json()
    value = current["value"]
    value["metrics"].append({"name": f"m{time.time_ns()}", "kind": "count", "event": "e"})
    opened = app.request(
        "POST",
        CONFIG + "change-requests/",
        token=token,
        body={"value": value, "base_version": current["version"], "title": "One more metric"},
    )
    assert opened.status == 201, opened.body
    published = app.request(
        "POST", f"/api/v1/change-requests/{opened.json()['id']}/publish/", token=token, body={}
    )
    assert published.status == 200, published.body
    return published.json()["version"]


@pytest.fixture
def stack():
    postgres, redis, receiver = ThrowawayPostgres(), ThrowawayRedis(), Receiver()
    app = AppServer(postgres, redis, WEBHOOK_ALLOW_PRIVATE="1", DJANGO_LOG_LEVEL="WARNING")
    worker = None
    try:
        postgres.start()
        postgres.sql("CREATE DATABASE configconsole", database="postgres")
        redis.start()
        app.manage("migrate", "--no-input")
        app.manage("seed_demo")
        app.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; from configs.models import Namespace;"
            " from push.services import webhook_create;"
            " webhook_create(namespace=Namespace.objects.get(slug='sales-ops'),"
            f" url='http://127.0.0.1:{receiver.server_port}/hook', events=['version.published'],"
            " actor=get_user_model().objects.get(username='carol'))",
        )
        app.start()
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2",
             "--no-reload", "--no-startup-delay"],
            cwd=PROJECT,
            env=app.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        yield app, postgres, receiver, worker, app.token("carol", "sales-ops", write=True)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=15)
        app.close()
        redis.close()
        postgres.close()
        receiver.shutdown()


def test_a_webhook_is_delivered_after_the_database_restarted_under_the_worker(stack):
    app, postgres, receiver, worker, carol = stack
    before = publish(app, carol)
    assert wait_until(lambda: before in receiver.versions())

    postgres.stop()
    time.sleep(2)  # the worker polls the stopped database a few times meanwhile
    postgres.start()
    after = publish(app, carol)

    assert wait_until(lambda: after in receiver.versions()), (
        "not delivered after the restart; the worker "
        + ("is still running" if worker.poll() is None else f"exited with {worker.returncode}")
    )
    assert worker.poll() is None
