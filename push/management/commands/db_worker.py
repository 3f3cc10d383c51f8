"""`manage.py db_worker`: django-tasks' database worker, which also outlives its database.

django-tasks-db's worker exits on the first database error ("the database system is shutting
down" at a restart), and webhooks then silently stop. This is the same command with the same
options (it shadows the library's: the `push` app comes first in INSTALLED_APPS); when the
database fails under it, it closes its connection, waits (0.5 s, doubling to 10 s) and carries
on polling, so it picks up again once the database is back. Written here because the library
has no such option; the loop only wraps the library's own `Worker.run`.

A task cut short by the failure itself (the database went away in the middle of a delivery)
stays marked as running in the library's table: django-tasks-db has no lease to take it back.
Such a delivery can be sent again from its webhook's page ("Redeliver").
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("django_tasks_db")

FIRST_WAIT = 0.5
LONGEST_WAIT = 10.0


class Worker(db_worker.Worker):
    def run(self) -> None:
        wait = FIRST_WAIT
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks: the library decided it is done
            except DatabaseError as exc:
                # For the operator's log, not for people: the error as Python shows it.
                logger.warning(
                    "The database failed under the task worker (%r); trying again in %.1f s.",
                    exc,
                    wait,
                )
            # The connection may be half-dead: the next pass connects afresh.
            for connection in connections.all(initialized_only=True):
                try:
                    connection.close()
                except DatabaseError:
                    pass
            time.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)
            self.startup_delay = False


class Command(db_worker.Command):
    help = "Run the database background worker (webhook deliveries); it survives database restarts."

    def handle(self, *args, **options):
        # The library's handle() builds its own Worker; give it ours.
        db_worker.Worker = Worker  # type: ignore[misc]
        return super().handle(*args, **options)
