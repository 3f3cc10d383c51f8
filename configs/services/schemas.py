"""Changes to schemas. Each change is one function: one transaction, audited.

A schema changes only by gaining a new, immutable, numbered version (`SchemaVersion`); its
`body` is a copy of the newest one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from common.errors import Conflict, SchemaInUse
from configs import access
from configs.models import Schema, SchemaVersion
from configs.selectors import schema_breakage
from configs.services._common import _with_history_user
from configs.validation import InvalidSchema, check_schema

# Words the schemas' own addresses use: /schemas/new/ (the console's page to add one) and
# /api/v1/schemas/infer/. A schema of that name would hide them, or be hidden.
RESERVED_NAMES = frozenset({"new", "infer"})


@transaction.atomic
def schema_create(
    *,
    name: str,
    body: dict,
    actor=None,
    title: str = "",
    description: str = "",
    reason: str = "",
    authorised: bool = False,
    namespace: str = "",
) -> Schema:
    """A new schema with its version 1 (admins of any namespace; `actor` None is the system).

    A name taken raises Conflict; a name reserved or not a slug, or a body that is not a usable
    JSON Schema, ValidationError on "name" or "body". `authorised` is for callers that checked
    the right themselves: a config's creator may make the schema inferred for it together with
    the config; `namespace` is then that config's, whose members see the event in the audit log
    (a schema on its own concerns no namespace until a config uses it)."""
    if actor is not None and not authorised:
        access.ensure_can_create_schema(actor)
    if name in RESERVED_NAMES:
        raise ValidationError(
            {"name": f"The name {name} is kept for the console's own addresses; pick another."}
        )
    if Schema.objects.filter(name=name).exists():
        raise Conflict(f"A schema named {name} already exists; pick another name.")
    # A body that is no object is no schema: full_clean says so, on "body".
    about = body if isinstance(body, dict) else {}
    schema = _with_history_user(
        Schema(
            name=name,
            body=body,
            title=title or about.get("title", ""),
            description=description or about.get("description", ""),
        ),
        actor,
    )
    schema.full_clean()
    schema.save()
    SchemaVersion.objects.create(
        schema=schema, number=1, body=body, created_by=actor, reason=reason or "Created"
    )
    record(
        "schema.created",
        actor=actor,
        target=schema,
        namespace=namespace,
        reason=reason,
        details={"version": 1},
    )
    return schema


def _namespaces_using(schema: Schema) -> list[str]:
    """The namespaces whose configs use `schema`: their admins hear of its changes."""
    return sorted(set(schema.configs.values_list("namespace__slug", flat=True)))


def schema_version_add(*, schema: Schema, body: dict, actor, reason: str = "") -> SchemaVersion:
    """Record `body` as the schema's next version and make it the schema's body.

    Runs inside the caller's transaction with the schema row locked by the caller: the rules
    (who may, which values must follow) are the caller's (schema_update, a schema change
    request's publish)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("schema_version_add must run inside a transaction.")
    last = schema.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = SchemaVersion.objects.create(
        schema=schema,
        number=last + 1,
        body=body,
        created_by=actor if getattr(actor, "pk", None) else None,
        created_at=timezone.now(),
        reason=reason,
    )
    schema.body = body
    _with_history_user(schema, actor, reason)
    schema.save()
    return version


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
    """Change a schema's title or description, or give it a new version whose body every live
    and scheduled value already satisfies (otherwise SchemaInUse names them)."""
    access.ensure_can_edit_schema(actor, schema)
    schema = Schema.objects.select_for_update().get(pk=schema.pk)
    before = schema.body
    if title is not None:
        schema.title = title
    if description is not None:
        schema.description = description
    details: dict = {}
    if body != before:
        # A broken body (a loop of references, say) is named before any value is checked.
        try:
            check_schema(body)
        except InvalidSchema as exc:
            raise ValidationError({"body": exc.message}) from exc
        problems = schema_breakage(schema=schema, body=body)
        if problems:
            raise SchemaInUse(problems)
        schema.full_clean()
        version = schema_version_add(schema=schema, body=body, actor=actor, reason=reason)
        details = {"version": version.number, "before": before, "after": body}
    else:
        _with_history_user(schema, actor, reason)
        schema.full_clean()
        schema.save()
    record(
        "schema.changed",
        actor=actor,
        target=schema,
        reason=reason,
        details=details,
        admins_of=_namespaces_using(schema),
    )
    return schema
