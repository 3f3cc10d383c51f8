"""The database failing is a 503 with Retry-After, and a connection the server closed is
replaced instead of failing the next request."""

import psycopg
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError, connection
from django.test import Client

from configs.api import lookup
from tests.api.conftest import client_for, make_token

URL = "/api/v1/configs/data-pipelines/company-timezones/"


def _refuse(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_api_answers_503_json_with_retry_after_when_the_database_fails(
    alice, timezones, monkeypatch, settings
):
    settings.DATABASE_RETRY_AFTER = 7
    _token, secret = make_token(alice, "data-pipelines")
    monkeypatch.setattr(lookup, "_fetch_one", _refuse)

    response = client_for(secret).get(URL)

    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Content-Type"] == "application/json"
    assert "database is not answering" in response.json()["detail"]


def test_console_pages_answer_a_503_page_when_the_database_fails(alice, monkeypatch):
    browser = Client(raise_request_exception=False)
    browser.force_login(alice)
    monkeypatch.setattr(SessionStore, "load", _refuse)

    response = browser.get("/configs/")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "The console cannot answer right now" in page
    assert "Config Console" in page  # in the console's look, not a bare error


def test_other_crashes_stay_500(alice, monkeypatch):
    browser = Client(raise_request_exception=False)
    browser.force_login(alice)

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(SessionStore, "load", crash)

    assert browser.get("/configs/").status_code == 500


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="kills the connection's PostgreSQL backend: runs in the PostgreSQL pass (DATABASE_URL)",
)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_by_the_server_is_replaced_on_the_read_path(demo):
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(username="alice")
    _token, secret = make_token(alice, "data-pipelines")
    api = client_for(secret)
    assert api.get(URL).status_code == 200
    pid = connection.connection.info.backend_pid

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    response = api.get(URL)

    assert response.status_code == 200
    assert connection.connection.info.backend_pid != pid
