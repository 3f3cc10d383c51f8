"""`record`: the one way to write to the audit log; `record_denied` for refused requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from audit.chain import seal_pending_events
from audit.models import ACTIONS, AuditEvent, EventReach
from common.after_commit import after_commit


def record(
    action: str,
    *,
    actor,
    target: models.Model | None,
    namespace: str = "",
    config: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    admins_of: Iterable[str] = (),
) -> AuditEvent:
    """Append one event; call it inside the transaction that makes the change it describes.

    `admins_of`: namespaces (slugs) whose admins see the event too, besides `namespace`'s
    members."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; add it to audit.models.ACTIONS.")
    event = AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        namespace=namespace,
        config=config,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk or "") if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        reason=reason,
        details=details or {},
    )
    EventReach.objects.bulk_create(
        [EventReach(event=event, namespace=slug) for slug in sorted(set(admins_of)) if slug]
    )
    # Sealed once committed (see audit/chain.py for why not here, and why only this event). A
    # seal that fails must not turn a change that did commit into an error: the event stays
    # unsealed, and verify_audit names it for an operator to look at.
    pk = event.pk
    after_commit(
        lambda: seal_pending_events(ids=[pk]),
        what=f"Sealing audit event {pk} ({action})",
        if_it_fails="It stays unsealed: `manage.py verify_audit` names it and "
        "`verify_audit --seal-pending` seals it.",
    )
    return event


def client_ip(request) -> str:
    # REMOTE_ADDR only: a forwarded-for header is whatever the client chose to send.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def record_denied(request, exc, *, namespace: str = "", config: str = "") -> None:
    """Record that `request` was refused with `exc` (a PermissionDenied, Django's or DRF's).

    Call it outside the refused view's transaction (middleware, the API's exception handler),
    so the event is kept although the view's own changes were rolled back.
    """
    user = getattr(request, "user", None)
    kwargs = request.resolver_match.kwargs if getattr(request, "resolver_match", None) else {}
    record(
        "access.denied",
        actor=user if getattr(user, "is_authenticated", False) else None,
        target=None,
        namespace=(namespace or str(kwargs.get("namespace", "")))[:100],
        config=(config or (str(kwargs.get("key", "")) if kwargs.get("namespace") else ""))[:100],
        reason=str(getattr(exc, "detail", "") or exc or "Permission denied."),
        details={
            "path": request.path[:500],
            "method": request.method,
            "ip": client_ip(request),
        },
    )
