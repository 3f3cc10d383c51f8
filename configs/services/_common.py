"""Helpers shared by the services of this package."""

from __future__ import annotations


def _with_history_user(instance, actor, reason: str = ""):
    # django-simple-history reads these when the instance is saved.
    instance._history_user = actor if getattr(actor, "pk", None) else None
    instance._change_reason = reason[:1000] if reason else None
    return instance


def _unknown(changes: dict, allowed: tuple[str, ...], service: str) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(f"{service}() cannot change {', '.join(unknown)}.")
