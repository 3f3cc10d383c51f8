"""One way to cut a console list into pages."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def page_of(
    request: HttpRequest,
    items: Any,
    *,
    per_page: int,
    param: str = "page",
    paginator_class: type[Paginator] = Paginator,
) -> Page:
    """The page of `items` that `?<param>=` asks for. A number that is not one, or past the end,
    gives the first or the last page rather than an error (Paginator.get_page); `page.param`
    names the parameter for the pages' links (templates/console/_pagination.html)."""
    page = paginator_class(items, per_page).get_page(request.GET.get(param))
    page.param = param  # type: ignore[attr-defined]
    return page
