"""A new worker warms up before its first request (gunicorn.conf.py's post_worker_init), and a
database that does not answer then does not stop it from starting."""

import logging
import runpy
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from configconsole import warmup

pytestmark = pytest.mark.django_db


def test_the_deployment_warms_each_worker_up_before_its_first_request(monkeypatch):
    called = []
    monkeypatch.setattr(warmup, "warm_up", lambda: called.append(True))
    conf = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))

    conf["post_worker_init"](worker=None)

    assert called == [True]


def test_warming_up_asks_the_database_once(django_assert_num_queries):
    with django_assert_num_queries(1):
        warmup.warm_up()


def test_a_database_that_does_not_answer_is_said_and_does_not_stop_the_worker(monkeypatch, caplog):
    def refuse():
        raise DatabaseError("the database system is shutting down")

    monkeypatch.setattr(connection, "cursor", refuse)
    with caplog.at_level(logging.WARNING, logger="configconsole.warmup"):
        warmup.warm_up()

    assert "did not answer" in caplog.text
