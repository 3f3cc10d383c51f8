"""/healthz and /readyz: unauthenticated, never throttled, honest about what is down."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_signing_in(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_cache_ok(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok"}


def test_readyz_names_the_cache_when_redis_cannot_be_reached(client, unreachable_redis):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["cache"] == "down"
    assert "The cache is down" in body["detail"]


def test_readyz_names_the_database_when_it_cannot_answer(client, monkeypatch):
    from django.db import OperationalError

    from common import faults

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(faults.connection, "cursor", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert "connection refused" in response.json()["detail"]


def test_health_endpoints_are_exempt_from_the_https_redirect(settings, client):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/configs/").status_code == 301


def test_health_endpoints_are_never_throttled(client, settings):
    settings.API_READ_RATE = "1/min"
    settings.API_WRITE_RATE = "1/min"

    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
