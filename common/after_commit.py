"""Work that follows a commit (sealing the audit chain, e-mail, the feed's hand-over): the one
way to schedule it.

By the time it runs, the change is committed and the answer must say so: a failure here is
logged, retried once on a fresh connection when the database dropped the old one, and never
raised into the request. Plain `transaction.on_commit` gets this wrong twice: a callback that
raises turns a committed change into a 500 (a client retries and does it twice), and
`robust=True` logs a failure by reading the callback's `__qualname__`, which a
`functools.partial` does not have, so the "robust" callback raised after all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, connections, transaction

logger = logging.getLogger(__name__)


def _drop_broken_connections() -> bool:
    """Close every connection the database dropped, so the next query opens a new one; whether
    any was dropped. (Django does this itself only between requests.)"""
    dropped = False
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or connection.in_atomic_block:
            continue
        if not connection.is_usable():
            connection.close()
            dropped = True
    return dropped


def after_commit(work: Callable[[], object], *, what: str, if_it_fails: str = "") -> None:
    """Run `work` once the current transaction commits (at once outside one); never raises.

    `what` names the work in the log ("sealing audit event 12"); `if_it_fails` says what is
    left undone and how it is made good, for the operator reading the log."""

    def run() -> None:
        for attempt in (1, 2):
            try:
                work()
                return
            except DatabaseError:
                # A connection killed between the commit and this work (a database restart):
                # the next query would fail too, this work's and the answer's alike.
                if _drop_broken_connections() and attempt == 1:
                    logger.warning("%s failed on a dropped connection; retrying", what)
                    continue
                logger.exception("%s failed after commit. %s", what, if_it_fails)
            except Exception:
                logger.exception("%s failed after commit. %s", what, if_it_fails)
            _drop_broken_connections()
            return

    run.__name__ = run.__qualname__ = f"after_commit[{what}]"
    transaction.on_commit(run, robust=True)
