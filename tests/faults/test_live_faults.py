"""Faults under a live server: gunicorn (debug off, two workers, persistent connections) on a
throwaway PostgreSQL and Redis of its own, which the tests stop, restart, kill and freeze."""

import threading
import time

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

READ = "/api/v1/configs/data-pipelines/company-timezones/"
ANSWER_TIMEOUT = 3


@pytest.fixture(scope="module")
def stack():
    postgres, redis = ThrowawayPostgres(), ThrowawayRedis()
    app = AppServer(
        postgres,
        redis,
        DATABASE_CONNECT_TIMEOUT="2",
        DATABASE_STATEMENT_TIMEOUT="2",
        DATABASE_ANSWER_TIMEOUT=str(ANSWER_TIMEOUT),
        DATABASE_RETRY_AFTER="5",
        REDIS_TIMEOUT="0.3",
        REDIS_RETRY_AFTER="1",
    )
    try:
        postgres.start()
        postgres.sql("CREATE DATABASE configconsole", database="postgres")
        redis.start()
        app.manage("migrate", "--no-input")
        app.manage("seed_demo")
        app.manage("collectstatic", "--no-input")
        app.start()
        tokens = {
            "read": app.token("alice", "data-pipelines"),
            "alice": app.token("alice", "data-pipelines", write=True),
            "bob": app.token("bob", "data-pipelines", write=True),
        }
        yield app, postgres, redis, tokens
    finally:
        app.close()
        redis.close()
        postgres.close()


@pytest.fixture
def healthy(stack):
    """Every test starts, and leaves, with both servers up and answering."""
    app, postgres, redis, tokens = stack
    yield app, postgres, redis, tokens
    postgres.thaw()
    if redis.process is None:
        redis.start()
    if not (postgres.data / "postmaster.pid").exists():
        postgres.start()


def reads(app, token, count=20) -> list[int]:
    return [app.request("GET", READ, token=token).status for _ in range(count)]


def wait_until(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_reads_go_on_while_redis_is_down_and_redis_is_used_again_when_back(healthy):
    app, _postgres, redis, tokens = healthy
    assert set(reads(app, tokens["read"])) == {200}

    redis.stop()
    during = reads(app, tokens["read"], 40)
    ready = app.request("GET", "/readyz")

    assert set(during) == {200}
    assert ready.status == 503
    assert ready.json()["cache"] == "down"
    assert ready.json()["database"] == "ok"

    redis.start()
    assert wait_until(lambda: app.request("GET", "/readyz").status == 200)
    assert set(reads(app, tokens["read"])) == {200}


def test_a_database_restart_costs_no_request(healthy):
    app, postgres, _redis, tokens = healthy
    assert set(reads(app, tokens["read"])) == {200}  # each worker holds a connection now

    postgres.restart()

    assert set(reads(app, tokens["read"])) == {200}
    assert app.request("GET", "/configs/").status in {200, 302}


def test_connections_killed_by_the_server_are_replaced(healthy):
    app, postgres, _redis, tokens = healthy
    assert set(reads(app, tokens["read"])) == {200}

    killed = postgres.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = 'configconsole' AND pid <> pg_backend_pid()"
    )

    assert killed
    assert set(reads(app, tokens["read"])) == {200}


def test_with_the_database_down_the_api_answers_503_json_and_pages_a_503_page(healthy):
    app, postgres, _redis, tokens = healthy
    browser = app.signed_in("alice", "alice-demo-2026")

    postgres.stop()
    # A warm read may still be answered from memory until the change feed misses its heartbeat
    # (within a second): nothing can be published meanwhile, so that answer is not stale.
    assert wait_until(lambda: app.request("GET", READ, token=tokens["read"]).status == 503, 5)
    api = app.request("GET", READ, token=tokens["read"])
    page = app.request("GET", "/configs/", opener=browser)
    ready = app.request("GET", "/readyz")
    alive = app.request("GET", "/healthz")

    assert api.status == 503
    assert api.headers["Retry-After"] == "5"
    assert api.headers["Content-Type"] == "application/json"
    assert "database is not answering" in api.json()["detail"]
    assert page.status == 503
    assert page.headers["Retry-After"] == "5"
    assert "The console cannot answer right now" in page.body.decode()
    assert ready.status == 503
    assert ready.json()["database"] == "down"
    assert alive.status == 200

    postgres.start()
    assert set(reads(app, tokens["read"])) == {200}
    assert app.request("GET", "/configs/", opener=browser).status == 200


def test_a_hung_database_answers_503_within_the_timeout(healthy):
    app, postgres, _redis, tokens = healthy
    assert set(reads(app, tokens["read"], 4)) == {200}

    postgres.freeze()
    try:
        answer = app.request("GET", READ + "versions/", token=tokens["read"])
        warm_read = app.request("GET", READ, token=tokens["read"])
    finally:
        postgres.thaw()

    assert answer.status == 503
    assert answer.seconds < ANSWER_TIMEOUT + 2
    # A warm read may still be answered from the server's memory; either way, in time.
    assert warm_read.status in {200, 503}
    assert warm_read.seconds < ANSWER_TIMEOUT + 2
    assert wait_until(lambda: set(reads(app, tokens["read"], 4)) == {200})


def test_a_hung_database_costs_a_write_and_a_page_at_most_the_timeout(healthy):
    app, postgres, _redis, tokens = healthy
    browser = app.signed_in("alice", "alice-demo-2026")
    current = app.request("GET", READ, token=tokens["read"]).json()
    value = current["value"]
    value["companies"].append({"company_id": "frozen", "timezone": "UTC"})
    proposal = {"value": value, "base_version": current["version"], "title": "While frozen"}
    # Every worker has connections in its pool now.
    for _ in range(4):
        assert app.request("GET", "/configs/", opener=browser).status == 200

    postgres.freeze()
    try:
        write = app.request("POST", READ + "change-requests/", token=tokens["alice"], body=proposal)
        page = app.request("GET", "/configs/", opener=browser)
    finally:
        postgres.thaw()

    assert write.status == 503
    assert write.headers["Retry-After"] == "5"
    assert write.seconds < ANSWER_TIMEOUT + 1
    assert page.status == 503
    assert page.seconds < ANSWER_TIMEOUT + 1
    assert wait_until(lambda: app.request("GET", "/configs/", opener=browser).status == 200)


def _opened_and_approved(app, tokens) -> int:
    current = app.request("GET", READ, token=tokens["read"]).json()
    value = current["value"]
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    opened = app.request(
        "POST",
        READ + "change-requests/",
        token=tokens["alice"],
        body={"value": value, "base_version": current["version"], "title": "Add hooli"},
    )
    assert opened.status == 201, opened.body
    number = opened.json()["id"]
    approved = app.request(
        "POST", f"/api/v1/change-requests/{number}/approve/", token=tokens["bob"], body={}
    )
    assert approved.status == 200, approved.body
    return number


def test_a_publish_cut_short_by_a_database_crash_leaves_nothing_partial(healthy):
    app, postgres, _redis, tokens = healthy
    number = _opened_and_approved(app, tokens)
    before = app.request("GET", READ, token=tokens["read"]).json()["version"]

    # Hold the audit table so the publish stops inside its transaction (version written, audit
    # event waiting), then crash the server under it.
    import psycopg

    holder = psycopg.connect(host="127.0.0.1", port=postgres.port, user="postgres",
                             dbname="configconsole")  # fmt: skip
    holder.execute("LOCK TABLE audit_auditevent IN SHARE MODE")
    answers = []
    publish = threading.Thread(
        target=lambda: answers.append(
            app.request(
                "POST", f"/api/v1/change-requests/{number}/publish/", token=tokens["bob"], body={}
            )
        )
    )
    publish.start()
    assert wait_until(
        lambda: (
            postgres.sql(
                "SELECT count(*) FROM pg_locks WHERE relation = 'audit_auditevent'::regclass"
                " AND NOT granted"
            )[0][0]
            > 0
        ),
        timeout=5,
    )
    postgres.stop("immediate")
    publish.join(timeout=30)
    try:
        holder.close()
    except psycopg.Error:
        pass
    postgres.start()

    assert answers and answers[0].status == 503
    after = app.request("GET", READ, token=tokens["read"])
    assert after.status == 200
    assert after.json()["version"] == before
    change_request = app.request("GET", f"/api/v1/change-requests/{number}/", token=tokens["bob"])
    assert change_request.json()["status"] == "approved"
    verified = app.manage("verify_audit", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "chain intact" in verified.stdout

    # And the change request can still be published once the database is back.
    again = app.request(
        "POST", f"/api/v1/change-requests/{number}/publish/", token=tokens["bob"], body={}
    )
    assert again.status == 200, again.body
    assert again.json()["version"] == before + 1


def test_answers_carry_the_security_policies(healthy):
    app, *_ = healthy

    page = app.request("GET", "/accounts/login/")

    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "camera=()" in page.headers["Permissions-Policy"]
