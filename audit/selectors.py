"""Reading the audit log: what a person may see of it, filtered."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from audit.models import ACTIONS, AuditEvent, EventReach
from configs import access
from configs.models import Namespace, Role


def _reaches(namespaces) -> Exists:
    """Events that also concern the admins of one of `namespaces` (see `EventReach`)."""
    return Exists(EventReach.objects.filter(event=OuterRef("pk"), namespace__in=namespaces))


def filtered_events(
    *,
    user,
    namespaces: Iterable[str] | None = None,
    config: str = "",
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The events `user` may see that match every filter given, newest first.

    People see the events of the namespaces they have a role in, and admins the schema and
    token events that reach their namespaces; events outside any namespace
    (logins, failed logins, denials on pages without one) only superusers see. `namespaces`
    (slugs) narrows this further, e.g. to an API token's scope. `config` is a config key, or
    `namespace/key` to name one config exactly. `actor` is a username; `action` an action name
    from `ACTIONS`, or its family (`change_request` for every `change_request.…`). `since` is
    inclusive, `until` exclusive.
    """
    events = AuditEvent.objects.all()
    if not getattr(user, "is_superuser", False):
        roles = access.roles_of(user)
        visible = Namespace.objects.filter(pk__in=list(roles)).values("slug")
        administered = Namespace.objects.filter(
            pk__in=[pk for pk, role in roles.items() if role == Role.ADMIN]
        ).values("slug")
        events = events.filter(Q(namespace__in=visible) | _reaches(administered))
    if namespaces is not None:
        # The reached events (schema and token events: few) as their ids, read first: with the
        # ids in hand the database can tell a small namespace from a large one, and read a small
        # one's events from its index instead of scanning the whole log for them.
        reached = list(
            EventReach.objects.filter(namespace__in=list(namespaces)).values_list(
                "event_id", flat=True
            )
        )
        events = events.filter(Q(namespace__in=list(namespaces)) | Q(pk__in=reached))
    if config:
        namespace, _, key = config.strip().rpartition("/")
        events = events.filter(config=key)
        if namespace:
            events = events.filter(namespace=namespace)
    if actor:
        events = events.filter(actor_name__iexact=actor.strip())
    if action:
        if "." in action:
            events = events.filter(action=action)
        else:
            # The family's registered names rather than a prefix match: equality uses the
            # action index whatever the database's collation.
            family = [name for name in ACTIONS if name.startswith(action + ".")]
            events = events.filter(action__in=family)
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events.order_by("-at", "-id")
