"""Pages of a long list cut by where the last page ended (keyset), never by OFFSET.

An OFFSET makes the database read and throw away every row before the page: page 5,000 of the
audit log read 250,000 events to show 50. A cursor instead names the last row shown (its values
in the list's order) and the next page is the rows after it, read from the list's index as the
first page is: page 5,000 costs what page 1 costs. The price: pages have no numbers, only
newer and older ("← Newer", "Older →"; the API's `next` and `previous`).

The list's `order_by` must end in a unique field (`id`, or `number` within one config) and go
one way (all ascending or all descending), so that one index scan serves every page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from common.errors import DomainError


class BadCursor(DomainError):
    status = 400

    def __init__(self, param: str = "cursor") -> None:
        super().__init__(
            f"{param} is not one this list gave: follow the list's own links to its pages."
        )


@dataclass
class KeysetPage:
    """One page, and the cursors of its neighbours (None where there is none)."""

    object_list: list[Any]
    newer: str | None  # the cursor of the page before (toward the list's start)
    older: str | None  # the cursor of the page after
    param: str = "cursor"
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __bool__(self) -> bool:
        return bool(self.object_list)

    def has_previous(self) -> bool:
        return self.newer is not None

    def has_next(self) -> bool:
        return self.older is not None

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next()


def ordering_of(queryset: QuerySet) -> tuple[list[str], bool]:
    """The queryset's order as field names, and whether it is descending."""
    order = [str(name) for name in queryset.query.order_by] or list(
        queryset.model._meta.ordering or []
    )
    if not order:
        raise ValueError("a keyset page needs an ordered list")
    descending = {name.startswith("-") for name in order}
    if len(descending) != 1:
        raise ValueError(f"a keyset page needs one direction, not {order}")
    return [name.lstrip("-") for name in order], descending.pop()


def cursor_for(values: Sequence[Any], backwards: bool) -> str:
    """The cursor of the rows after `values` in the list's order (before them, `backwards`)."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    text = json.dumps({"k": plain, "b": int(backwards)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, queryset: QuerySet, names: list[str], param: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values = list(data["k"])
        backwards = bool(data["b"])
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(param) from None
    if len(values) != len(names):
        raise BadCursor(param)
    typed = []
    for name, value in zip(names, values, strict=True):
        model_field = queryset.model._meta.get_field(name)
        kind = model_field.get_internal_type()
        if kind == "DateTimeField":
            instant = parse_datetime(value) if isinstance(value, str) else None
            if instant is None:
                raise BadCursor(param)
            typed.append(instant)
        elif kind in {"AutoField", "BigAutoField", "IntegerField", "PositiveIntegerField"}:
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadCursor(param)
            typed.append(value)
        elif isinstance(value, str):
            typed.append(value)
        else:
            raise BadCursor(param)
    return typed, backwards


def _after(names: list[str], values: list[Any], forward_is_less: bool) -> Q:
    """Rows strictly after `values` in the order: (a, b) < (x, y) written so that the first
    field's bound is a plain range condition, which the index scan starts from."""
    less, at_most = ("lt", "lte") if forward_is_less else ("gt", "gte")
    strictly = Q()
    for depth in range(len(names)):
        step = Q(**{f"{names[depth]}__{less}": values[depth]})
        for earlier in range(depth):
            step &= Q(**{names[earlier]: values[earlier]})
        strictly |= step
    return Q(**{f"{names[0]}__{at_most}": values[0]}) & strictly


def keyset_page(
    queryset: QuerySet,
    *,
    cursor: str | None,
    per_page: int,
    param: str = "cursor",
) -> KeysetPage:
    """The page of `queryset` that `cursor` names (the first without one): two cursors, each
    one indexed range read of per_page + 1 rows whatever the page."""
    names, descending = ordering_of(queryset)
    backwards = False
    if cursor:
        values, backwards = _decode(cursor, queryset, names, param)
        # Forward in a descending list means smaller values; backwards, larger ones.
        queryset = queryset.filter(_after(names, values, descending != backwards))
    if backwards:
        queryset = queryset.reverse()
    rows = list(queryset[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if not rows:
        return KeysetPage([], newer=None, older=None, param=param)

    def key(row) -> list[Any]:
        return [getattr(row, name) if not isinstance(row, dict) else row[name] for name in names]

    toward_start = more if backwards else bool(cursor)
    toward_end = bool(cursor) if backwards else more
    return KeysetPage(
        rows,
        newer=cursor_for(key(rows[0]), backwards=True) if toward_start else None,
        older=cursor_for(key(rows[-1]), backwards=False) if toward_end else None,
        param=param,
    )


def page_from(request, queryset: QuerySet, *, per_page: int, param: str = "cursor") -> KeysetPage:
    """The console's page of `queryset` that `?<param>=` names; a cursor this list did not give
    (edited by hand, or from an older release) gives the first page rather than an error, as
    common.pagination.page_of does with page numbers."""
    cursor = request.GET.get(param) or None
    try:
        return keyset_page(queryset, cursor=cursor, per_page=per_page, param=param)
    except BadCursor:
        return keyset_page(queryset, cursor=None, per_page=per_page, param=param)
