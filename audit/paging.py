"""Pages of the audit log that stay cheap at millions of events.

Counting every event a filter keeps reads all of them: at a million events that is most of a
second per page. So the log is counted only up to COUNT_BOUND; beyond it the console says
"more than 10,000" and pages through the newest COUNT_BOUND (older ones are reached by narrowing
the dates), and the API answers the planner's estimate, flagged as one.
"""

from __future__ import annotations

import json
import math
from functools import cached_property

from django.core.paginator import Paginator
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


class BoundedPaginator(Paginator):
    """Pages through at most the first `bound` rows; `more` tells there are others."""

    def __init__(self, object_list, per_page, bound: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.bound = COUNT_BOUND if bound is None else bound

    @cached_property
    def _counted(self) -> int:
        return count_up_to(self.object_list, self.bound)

    @cached_property
    def more(self) -> bool:
        return self._counted > self.bound

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.bound)

    @cached_property
    def num_pages(self) -> int:
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page))


class AuditPagination(Pagination):
    """The API's pages ({count, next, previous, results}, the shape every list has); past
    COUNT_BOUND events `count` is the planner's estimate, and the header `Count-Estimated: true`
    says so (a header: the body's shape is the same for every version-1 client)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.counted = count_up_to(queryset)
        self.estimate = None
        if self.counted > COUNT_BOUND:
            self.estimate = max(estimated_count(queryset) or 0, self.counted)
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page):
        paginator = Paginator(object_list, per_page)
        # The count is known already (exactly, or as an estimate): do not count again.
        paginator.count = self.estimate if self.estimate is not None else self.counted
        return paginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.estimate is not None:
            response["Count-Estimated"] = "true"
        return response
