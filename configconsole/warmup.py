"""What a new worker process does before its first request, so that request does not pay for it.

A fresh process imports every view the first time a URL is resolved, and opens its database
pool at its first query; measured at L (bench/cold.py), that is most of a second added to
whichever request comes first, e.g. a pipeline's bundle read. gunicorn.conf.py calls
`warm_up()` in each worker after it loads the app and before it accepts connections.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.urls import get_resolver

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Import every view (the URLconf) and open this process's database pool. A database that
    does not answer is no reason to refuse to start: the first request then tells (503)."""
    get_resolver().url_patterns  # noqa: B018  (imports every view module)
    try:
        with connection.cursor() as cursor:
            # The tables the read path joins, so the pooled connection has them in its caches.
            cursor.execute(
                "SELECT 1 FROM configs_version v JOIN configs_config c ON c.id = v.config_id"
                " JOIN configs_namespace n ON n.id = c.namespace_id LIMIT 1"
            )
    except DatabaseError:
        logger.warning("Warm-up: the database did not answer; the first request will ask it.")
    finally:
        if not connection.in_atomic_block:  # (a test's transaction)
            connection.close()  # back to the pool (or closed, without one)
