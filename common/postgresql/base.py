"""Django's PostgreSQL backend, with a deadline on every answer from the server.

`statement_timeout` is enforced by the server, so a server that hangs (stopped, swapped out, a
network that drops packets without resetting) never enforces it, and psycopg waits for an answer
forever. Here every wait for the server gives up after DATABASE_ANSWER_TIMEOUT seconds and closes
the connection, so the request fails fast (503) and the next one connects afresh. The same
connections fill Django's connection pool (settings: OPTIONS "pool").
"""

from __future__ import annotations

import threading
import time

import psycopg
from django.conf import settings
from django.core.signals import request_started
from django.db.backends.postgresql import base
from psycopg import errors
from psycopg_pool.base import AttemptWithBackoff

# When the database last failed to answer or to give a connection, per thread: a request that met
# a hung database once does not wait for it again (its error page, an audit row, a session save
# would each wait as long), so a request costs at most DATABASE_ANSWER_TIMEOUT, writes included.
# Each request starts afresh (request_started), and so does each piece of a watch stream's work
# (push/watch.py, on threads all streams share); other threads (the change feed, the consumers'
# writer) wait DATABASE_RETRY_AFTER seconds before asking again.
_unanswered = threading.local()


def _note_no_answer() -> None:
    _unanswered.at = time.monotonic()


def forget_no_answer(**kwargs) -> None:
    """Ask the database again from this thread, whatever happened to its last question."""
    _unanswered.at = None


request_started.connect(forget_no_answer, dispatch_uid="common.postgresql.forget_no_answer")

# The pool (psycopg_pool) waits longer and longer between attempts to reconnect (1 s, doubling,
# for up to 5 minutes): after an outage of a minute it would stay empty for another half minute
# with PostgreSQL back, answering 503s. It has no setting for this; its class constants are the
# knob. Try every half second instead: a refused connection costs nothing, and a hung server's
# costs a pool thread DATABASE_CONNECT_TIMEOUT seconds, not a request.
AttemptWithBackoff.INITIAL_DELAY = 0.5
AttemptWithBackoff.DELAY_BACKOFF = 1.0


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
            _note_no_answer()
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

    def get_new_connection(self, conn_params):
        at = getattr(_unanswered, "at", None)
        if at is not None and time.monotonic() - at < settings.DATABASE_RETRY_AFTER:
            raise NoAnswer("The database did not answer moments ago; not asking it again yet.")
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError:  # refused, timed out, or no pooled connection in time
            _note_no_answer()
            raise
