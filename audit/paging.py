"""Pages of the audit log that stay cheap at millions of events.

Counting every event a filter keeps reads all of them: at a million events that is most of a
second per page. So the log is counted only up to COUNT_BOUND; beyond it the console says
"more than 10,000", and the API answers the planner's estimate, flagged as one. Pages are cut by
keyset (common.keyset), so every page, however old, costs what the newest does.
"""

from __future__ import annotations

import json

from django.db import connections
from django.db.models import QuerySet

from common.api import Pagination

COUNT_BOUND = 10_000


def count_up_to(queryset: QuerySet, bound: int | None = None) -> int:
    """The number of rows, or bound + 1 when there are more: one query that stops early."""
    bound = COUNT_BOUND if bound is None else bound
    return queryset.order_by()[: bound + 1].count()


def estimated_count(queryset: QuerySet) -> int | None:
    """The planner's estimate of the rows `queryset` keeps (PostgreSQL), without reading them."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class AuditPagination(Pagination):
    """The API's pages ({count, next, previous, results}, the shape every list has, cut by
    keyset); past COUNT_BOUND events `count` is the planner's estimate, and the header
    `Count-Estimated: true` says so (a header: the body's shape is the same for every version-1
    client)."""

    def count(self, queryset) -> int:
        counted = count_up_to(queryset)
        self.estimated = counted > COUNT_BOUND
        if self.estimated:
            return max(estimated_count(queryset) or 0, counted)
        return counted

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.estimated:
            response["Count-Estimated"] = "true"
        return response
