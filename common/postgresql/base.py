"""Django's PostgreSQL backend, with a deadline on every answer from the server.

`statement_timeout` is enforced by the server, so a server that hangs (stopped, swapped out, a
network that drops packets without resetting) never enforces it, and psycopg waits for an answer
forever. Here every wait for the server gives up after DATABASE_ANSWER_TIMEOUT seconds and closes
the connection, so the request fails fast (503) and the next one connects afresh. The same
connections fill Django's connection pool (settings: OPTIONS "pool").
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import errors


class NoAnswer(psycopg.OperationalError):
    """The server did not answer in time; the connection was closed."""


class DeadlineConnection(psycopg.Connection):
    def wait(self, gen, interval=0.1, timeout=None):
        deadline = settings.DATABASE_ANSWER_TIMEOUT or None
        try:
            return super().wait(gen, interval=interval, timeout=timeout or deadline)
        except errors._WaitTimeout:
            # The connection is mid-conversation: nothing more can be said on it.
            self.pgconn.finish()
            raise NoAnswer(
                f"The database did not answer within {deadline:g} s; the connection was closed."
            ) from None


class _Psycopg:
    """The psycopg module as Django's backend uses it, except that it connects with
    DeadlineConnection."""

    def __getattr__(self, name):
        return getattr(psycopg, name)

    @staticmethod
    def connect(*args, **kwargs):
        return DeadlineConnection.connect(*args, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()

    def __init__(self, settings_dict, *args, **kwargs):
        pool = settings_dict.get("OPTIONS", {}).get("pool")
        if isinstance(pool, dict):
            # The pool opens its connections itself: with the deadline, like any other here.
            settings_dict["OPTIONS"]["pool"] = {**pool, "connection_class": DeadlineConnection}
        super().__init__(settings_dict, *args, **kwargs)
