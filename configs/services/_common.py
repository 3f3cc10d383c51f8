"""Helpers shared by the services of this package."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _with_history_user(instance, actor, reason: str = ""):
    # django-simple-history reads these when the instance is saved.
    instance._history_user = actor if getattr(actor, "pk", None) else None
    instance._change_reason = reason[:1000] if reason else None
    return instance


def _unknown(changes: dict, allowed: tuple[str, ...], service: str) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"{service}() cannot change {', '.join(unknown)}.")


def _changed(
    instance, changes: dict, shown: Callable[[str, Any], Any] = lambda _field, value: value
) -> dict:
    """Set `changes` on `instance` and check it (full_clean, which also turns form input such as
    "2" into the field's type); returns what really changed, {field: {"before", "after"}}, each
    side as `shown(field, value)` puts it for the audit log."""
    before = {field: getattr(instance, field) for field in changes}
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.full_clean()
    return {
        field: {"before": shown(field, before[field]), "after": shown(field, after)}
        for field in changes
        if (after := getattr(instance, field)) != before[field]
    }
