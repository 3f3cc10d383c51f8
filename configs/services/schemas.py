"""Changes to schemas. Each change is one function: one transaction, audited."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.services import record
from configs import access
from configs.errors import SchemaInUse
from configs.models import Schema
from configs.selectors import schema_breakage
from configs.services._common import _with_history_user


@transaction.atomic
def schema_create(
    *, name: str, body: dict, actor=None, title: str = "", description: str = ""
) -> Schema:
    """A new schema (admins of any namespace; `actor` None is the system, e.g. the demo)."""
    if actor is not None and not access.is_admin_somewhere(actor):
        raise PermissionDenied("Only namespace admins can add schemas.")
    schema = _with_history_user(
        Schema(
            name=name,
            body=body,
            title=title or body.get("title", ""),
            description=description or body.get("description", ""),
        ),
        actor,
    )
    schema.full_clean()
    schema.save()
    record("schema.created", actor=actor, target=schema)
    return schema


@transaction.atomic
def schema_update(
    *,
    schema: Schema,
    body: dict,
    actor,
    reason: str = "",
    title: str | None = None,
    description: str | None = None,
) -> Schema:
    """Change a schema, refusing any change that would make a live (or scheduled) value invalid."""
    access.ensure_can_edit_schema(actor, schema)
    schema = Schema.objects.select_for_update().get(pk=schema.pk)
    problems = schema_breakage(schema=schema, body=body)
    if problems:
        raise SchemaInUse(problems)
    before = schema.body
    schema.body = body
    if title is not None:
        schema.title = title
    if description is not None:
        schema.description = description
    _with_history_user(schema, actor, reason)
    schema.full_clean()
    schema.save()
    record(
        "schema.changed",
        actor=actor,
        target=schema,
        reason=reason,
        details={"before": before, "after": body},
    )
    return schema
