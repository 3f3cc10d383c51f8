"""`record`: the one way to write to the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from audit.models import ACTIONS, AuditEvent


def record(
    action: str,
    *,
    actor,
    target: models.Model,
    namespace: str = "",
    config: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; call it inside the transaction that makes the change it describes."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; add it to audit.models.ACTIONS.")
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        namespace=namespace,
        config=config,
        target_type=target._meta.label_lower,
        target_id=str(target.pk or ""),
        target_repr=str(target)[:300],
        reason=reason,
        details=details or {},
    )
