"""Schema change requests: change a schema together with every value it would reject.

One function per change, as for config change requests: it checks the rule, writes in one
transaction and records the audit event. The plan (which configs the new schema would reject,
and their migrated values) is computed set-based: one query for the values in force, one for
the configs' newest versions, one validator, and each distinct value checked once. So are the
gate, the role checks and the conflict check (`AffectedConfigs`, `_moved`): a schema thousands
of configs use is read with aggregate queries, never config by config.

Rules, besides those every change request follows:
- Only admins of every namespace whose configs use the schema may propose a change to it.
- A config whose live or scheduled value the new schema rejects gets an item: its newest value
  with the defaults of new required properties filled in, or the value the author gives. While
  any item is invalid the change request cannot be opened for review (InvalidValues names each
  config and path); it can be kept as the author's draft, fixed one config at a time, and
  submitted once every value fits.
- Approvals count only from people who review in every namespace whose configs change
  (superusers anywhere); the strictest of those configs' policies applies.
- Publishing writes the schema version and one version per item in one transaction, or nothing.
  If the schema or any config moved past its base (or a config the plan did not cover is now
  rejected), the whole change request is conflicted, and its author rebases it.
- A scheduled version in the way of an item is named, with the earliest instant the change can
  take effect; publishing with that `effective_at` schedules every item then.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from audit.services import record
from common.after_commit import after_commit
from common.errors import Conflict, InvalidValue, RuleViolation
from configs import access
from configs.models import (
    ROLE_RANK,
    Config,
    Namespace,
    Role,
    Schema,
    Version,
    canonical_json,
    effective_owner_approval_required,
    effective_required_approvals,
    schema_text,
)
from configs.secrets import is_credential_problem
from configs.selectors import values_rejected
from configs.services import NewVersion, schema_version_add, versions_publish
from configs.validation import (
    InvalidSchema,
    check_schema,
    new_value_problems,
    overrides_errors,
    resolve,
    validator_for,
)
from reviews import schema_change_notifications as notifications
from reviews.gate import Gate
from reviews.models import (
    ChangeRequest,
    Review,
    SchemaChangeItem,
    SchemaChangeRequest,
    SchemaReview,
)
from reviews.schema_change_models import proposal_hash
from reviews.services import open_on_configs, overtaken

Status = ChangeRequest.Status


class InvalidValues(InvalidValue):
    """Values of several configs that the proposed schema rejects; each error names its config."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__(errors)
        configs = sorted({e["config"] for e in errors})
        self.args = (
            f"The new schema would reject the value of {', '.join(configs)}: give a value that "
            "fits, or a default for each new required field.",
        )


def fill_defaults(value: Any, schema: dict, root: dict | None = None) -> Any:
    """`value` with every missing required property that has a `default` filled in, at every
    depth (in each item of a list, too)."""
    root = root if root is not None else schema
    schema = resolve(schema, root)
    if isinstance(value, list):
        items = schema.get("items")
        return [fill_defaults(v, items, root) for v in value] if isinstance(items, dict) else value
    if not isinstance(value, dict):
        return value
    props = schema.get("properties") or {}
    filled = {k: fill_defaults(v, props[k], root) if k in props else v for k, v in value.items()}
    for key in schema.get("required") or []:
        node = resolve(props.get(key) or {}, root)
        if key not in filled and "default" in node:
            filled[key] = copy.deepcopy(node["default"])
    return filled


@dataclass
class Affected:
    """One config the new schema would reject, and what it would become."""

    config_id: int
    namespace: str
    key: str
    name: str
    base_id: int
    base_number: int
    base_effective_at: datetime
    value: Any
    migrated: bool
    errors: list[dict[str, str]]

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.key}"

    @property
    def value_json(self) -> str:
        return json.dumps(self.value, indent=2, ensure_ascii=False)


def schema_change_plan(*, schema: Schema, body: dict, values: dict | None = None) -> list[Affected]:
    """Each config whose live or scheduled value `body` rejects, with its new value (`values`
    by "namespace/key", else migrated by the schema's defaults) and that value's problems.

    Set-based, for schemas thousands of configs use: three queries, rows as plain values, and
    each distinct stored value parsed, migrated and checked once."""
    values = values or {}
    rejected = values_rejected(configs=Config.objects.filter(schema=schema), body=body)
    affected_ids = {row.config_id for row, _errors in rejected}
    if not affected_ids:
        return []
    # Every config of the schema with its newest version, filtered here rather than by a list
    # of thousands of ids sent to the database.
    newest = Version.objects.active().filter(config=OuterRef("pk")).order_by("-number")
    on_schema = Config.objects.filter(schema=schema).annotate(
        newest_id=Subquery(newest.values("id")[:1])
    )
    configs = [
        row
        for row in on_schema.order_by("namespace__slug", "key").values_list(
            "pk", "namespace__slug", "key", "name", "newest_id"
        )
        if row[0] in affected_ids
    ]
    bases = {
        pk: (number, effective_at, text, overrides)
        for pk, number, effective_at, text, overrides in Version.objects.filter(
            pk__in=on_schema.values("newest_id")
        ).values_list("pk", "number", "effective_at", "value_json", "overrides")
    }
    validator = validator_for(body)
    migrated: dict[str, tuple[Any, list[dict[str, str]]]] = {}
    plan = []
    for config_id, namespace, key, name, base_id in configs:
        number, effective_at, text, overrides = bases[base_id]
        label = f"{namespace}/{key}"
        if label in values:
            value = values[label]
            errors = new_value_problems(validator, value)
        else:
            if text not in migrated:
                value = fill_defaults(json.loads(text), body)
                migrated[text] = (value, new_value_problems(validator, value))
            value, errors = migrated[text]
        if overrides:  # kept by the new version: what they serve must fit the new schema too
            errors = errors + overrides_errors(overrides, body, validator)
        plan.append(
            Affected(
                config_id=config_id,
                namespace=namespace,
                key=key,
                name=name,
                base_id=base_id,
                base_number=number,
                base_effective_at=effective_at,
                value=value,
                migrated=label not in values,
                errors=errors,
            )
        )
    return plan


def _invalid(plan: list[Affected]) -> list[dict[str, str]]:
    return [
        {"config": item.label, "path": error["path"], "message": error["message"]}
        for item in plan
        for error in item.errors
    ]


def _check_body(body) -> None:
    try:
        check_schema(body)
    except InvalidSchema as exc:
        raise ValidationError(f"The schema cannot be used: {exc.message}") from exc


def _require_text(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(f"{what} is required.")
    return text


def _audit(action: str, change_request: SchemaChangeRequest, actor, reason: str = "", **details):
    return record(
        action,
        actor=actor,
        target=change_request,
        reason=reason,
        details={
            "schema_change_request": change_request.pk,
            "schema": change_request.schema.name,
            **details,
        },
    )


def _store_plan(change_request: SchemaChangeRequest, plan: list[Affected]) -> None:
    """Write one item per affected config and the hash of the whole proposal."""
    rows = [(i.config_id, i.base_id, canonical_json(i.value), i.migrated) for i in plan]
    problems = [json.dumps(i.errors, ensure_ascii=False) for i in plan]
    if connection.vendor == "postgresql":
        # COPY: a schema thousands of configs use gets thousands of items, and building a
        # model per item and binding each value of a multi-row INSERT cost seconds there.
        table = SchemaChangeItem._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {table} (change_request_id, config_id, base_version_id, value, migrated, "
                "problems) FROM STDIN"
            ) as copy:
                for row, row_problems in zip(rows, problems, strict=True):
                    copy.write_row((change_request.pk, *row, row_problems))
    else:
        SchemaChangeItem.objects.bulk_create(
            [
                SchemaChangeItem(
                    change_request=change_request,
                    config_id=i.config_id,
                    base_version_id=i.base_id,
                    value=i.value,
                    migrated=i.migrated,
                    problems=i.errors,
                )
                for i in plan
            ],
            batch_size=1000,
        )
    change_request.proposal_hash = proposal_hash(change_request.body, rows)
    change_request.save(update_fields=["proposal_hash", "updated_at"])


@transaction.atomic
def schema_change_open(
    *,
    schema: Schema,
    author,
    body: dict,
    base_version: int,
    title: str,
    description: str = "",
    values: dict | None = None,
    draft: bool = False,
) -> SchemaChangeRequest:
    """Propose `body` as the schema's next version, with the new value of every config it
    would reject, and ask for review; or, as a `draft`, keep it for its author alone, with
    values still to fix."""
    access.ensure_can_edit_schema(author, schema)
    title = _require_text(title, "A title saying why")
    _check_body(body)
    newest = schema.versions.latest("number")
    if newest.number != base_version:
        raise Conflict(
            f"Schema {schema.name} is at version {newest.number}, not {base_version}: reload "
            "it and make your change on the newest version."
        )
    if schema_text(body) == schema_text(newest.body):
        raise ValidationError(
            f"Nothing would change: the schema is the same as version {newest.number}."
        )
    plan = schema_change_plan(schema=schema, body=body, values=values)
    _refuse_unaffected(plan, values)
    problems = _invalid(plan)
    if problems and (not draft or any(map(is_credential_problem, problems))):
        raise InvalidValues(problems)  # a draft may wait on fixes, never hold a credential
    change_request = SchemaChangeRequest.objects.create(
        schema=schema,
        base_version=newest,
        body=body,
        author=author,
        title=title,
        description=description,
        status=Status.DRAFT if draft else Status.IN_REVIEW,
    )
    _store_plan(change_request, plan)
    _audit(
        "schema_change.opened",
        change_request,
        author,
        reason=title,
        base_version=newest.number,
        configs=[item.label for item in plan],
        draft=draft,
    )
    if not draft:
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


def _refuse_unaffected(plan: list[Affected], values: dict | None) -> None:
    """Values given for configs the new schema does not reject have no place in the change."""
    unknown = sorted(set(values or {}) - {item.label for item in plan})
    if unknown:
        raise ValidationError(
            f"Only configs the new schema would reject take a new value here, not "
            f"{', '.join(unknown)}."
        )


def _author_only(change_request: SchemaChangeRequest, actor, doing: str) -> None:
    if actor.pk != change_request.author_id:
        raise PermissionDenied(f"Only the author can {doing} a schema change.")


@transaction.atomic
def schema_change_edit(
    *,
    change_request: SchemaChangeRequest,
    actor,
    body: dict | None = None,
    values: dict | None = None,
    title: str | None = None,
    description: str | None = None,
) -> SchemaChangeRequest:
    """The author's new proposal: another schema, or new values for some configs (by
    "namespace/key"; values given before are kept for the others). Values are planned again
    against each config's newest version, and every earlier approval is dismissed: it was for
    another proposal. A draft stays a draft and may hold values still to fix; a change in review
    may not."""
    change_request = _lock(change_request)
    _author_only(change_request, actor, "edit")
    # Roles are read again at every step: an author who is no longer an admin may not edit.
    access.ensure_can_edit_schema(actor, change_request.schema)
    _ensure_allowed(change_request, "edit", "edited")
    body = change_request.body if body is None else body
    if (
        schema_text(body) == schema_text(change_request.body)
        and not values
        and title in (None, change_request.title)
        and description in (None, change_request.description)
    ):
        raise ValidationError("Nothing would change: give another schema, a value or a title.")
    _check_body(body)
    if schema_text(body) == schema_text(change_request.base_version.body):
        raise ValidationError(
            f"Nothing would change: the schema is the same as version "
            f"{change_request.base_version.number}."
        )
    # Values given before stay for configs the new body still rejects (the plan passes over
    # the others); values given now must each be for such a config.
    given = {
        str(item.config): item.value
        for item in change_request.items.select_related("config__namespace")
        if not item.migrated
    }
    plan = schema_change_plan(
        schema=change_request.schema, body=body, values={**given, **(values or {})}
    )
    _refuse_unaffected(plan, values)
    problems = _invalid(plan)
    if problems and (not change_request.is_draft or any(map(is_credential_problem, problems))):
        raise InvalidValues(problems)
    dismissed = change_request.reviews.filter(
        dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE
    ).update(dismissed_at=timezone.now())
    change_request.items.all().delete()
    change_request.body = body
    change_request.revision += 1
    if title is not None:
        change_request.title = _require_text(title, "A title saying why")
    if description is not None:
        change_request.description = description
    _store_plan(change_request, plan)
    _refresh_status(change_request)
    change_request.save()
    _audit(
        "schema_change.edited",
        change_request,
        actor,
        revision=change_request.revision,
        dismissed_approvals=dismissed,
        configs=sorted(values or {}),
    )
    return change_request


@transaction.atomic
def schema_change_submit(*, change_request: SchemaChangeRequest, actor) -> SchemaChangeRequest:
    """The author sends their draft for review once every value fits the new schema; the
    reviewers of every namespace whose configs change are asked."""
    change_request = _lock(change_request)
    _author_only(change_request, actor, "submit")
    access.ensure_can_edit_schema(actor, change_request.schema)
    _ensure_allowed(change_request, "submit", "submitted for review")
    problems = [
        {"config": str(item.config), **problem}
        for item in change_request.items.exclude(problems=[]).select_related("config__namespace")
        for problem in item.problems
    ]
    if problems:
        raise InvalidValues(problems)
    change_request.status = Status.IN_REVIEW
    _refresh_status(change_request)
    change_request.save(update_fields=["status", "updated_at"])
    _audit(
        "schema_change.submitted",
        change_request,
        actor,
        reason=change_request.title,
        revision=change_request.revision,
    )
    pk = change_request.pk
    after_commit(
        lambda: notifications.review_requested(pk),
        what=f'E-mail "review_requested" of change request {pk}',
    )
    return change_request


@dataclass(frozen=True)
class AffectedConfigs:
    """The configs whose values a schema change changes, as the gate and the role checks need
    them: their namespaces and the strictest of their review policies, read with aggregate
    queries (a schema thousands of configs use is never loaded config by config)."""

    configs: QuerySet[Config]
    namespaces: list[Namespace]
    required_approvals: int
    owner_approval_required: bool

    @property
    def needs_review(self) -> bool:
        """Whether any of them needs an approval before it is published (bypass aside)."""
        return self.required_approvals > 0 or self.owner_approval_required

    def owners_approved(self, approver_ids: set[int]) -> bool:
        """Whether each config that needs an owner's approval has one of its owners among
        `approver_ids` (one query, answering only whether some config still lacks one)."""
        if not self.owner_approval_required:
            return True
        if not approver_ids:
            return False
        owner_approved = Config.owners.through.objects.filter(
            config_id=OuterRef("pk"), user_id__in=approver_ids
        )
        lacking = self.configs.alias(needs_owner=effective_owner_approval_required()).filter(
            ~Exists(owner_approved), needs_owner=True
        )
        return not lacking.exists()


def affected_configs(change_request: SchemaChangeRequest) -> AffectedConfigs:
    """The configs whose values change, or (none changing) every config using the schema."""
    items = SchemaChangeItem.objects.filter(change_request=change_request)
    configs = Config.objects.filter(
        Q(pk__in=items.values("config_id")) | Q(~Exists(items), schema_id=change_request.schema_id)
    )
    by_namespace = (
        configs.order_by()
        .alias(needs_owner=effective_owner_approval_required())
        .values("namespace_id")
        .annotate(
            required=Max(effective_required_approvals()),
            owner_configs=Count("pk", filter=Q(needs_owner=True)),
        )
    )
    policies = {row["namespace_id"]: row for row in by_namespace}
    return AffectedConfigs(
        configs=configs,
        namespaces=list(Namespace.objects.filter(pk__in=policies)),
        required_approvals=max((row["required"] for row in policies.values()), default=0),
        owner_approval_required=any(row["owner_configs"] for row in policies.values()),
    )


def open_for_schema(schema: Schema) -> list[SchemaChangeRequest]:
    """The schema's open schema change requests, newest first, with their authors."""
    return list(
        SchemaChangeRequest.objects.filter(schema=schema, status__in=ChangeRequest.OPEN)
        .select_related("author")
        .order_by("-updated_at", "-id")
    )


def authored_by(user) -> QuerySet:
    """`user`'s own schema changes, open ones first, then newest first."""
    return (
        SchemaChangeRequest.objects.filter(author=user)
        .annotate(closed=~Q(status__in=ChangeRequest.OPEN))
        .select_related("schema", "author")
        .defer("body", "schema__body")
        .order_by("closed", "-updated_at", "-id")
    )


def waiting_for(user) -> QuerySet:
    """Open schema changes `user` may approve (`may_review`, in one query whatever their number
    of configs) and has not yet approved as they stand, oldest first."""
    roles = access.roles_of(user)
    reviews_in = [
        ns for ns, role in roles.items() if ROLE_RANK[Role(role)] >= ROLE_RANK[Role.REVIEWER]
    ]
    items = SchemaChangeItem.objects.filter(change_request=OuterRef("pk"))
    on_schema = Config.objects.filter(schema=OuterRef("schema"))
    # The namespaces that count are those of the configs whose values change; when none change,
    # those of every config using the schema; when no config uses it, admins anywhere review.
    if getattr(user, "is_superuser", False):
        eligible = Q()
    elif not reviews_in:
        return SchemaChangeRequest.objects.none()
    else:
        eligible = Q(
            Exists(items), ~Exists(items.exclude(config__namespace_id__in=reviews_in))
        ) | Q(
            ~Exists(items),
            Exists(on_schema),
            ~Exists(on_schema.exclude(namespace_id__in=reviews_in)),
        )
        if Role.ADMIN in roles.values():
            eligible |= Q(~Exists(items), ~Exists(on_schema))
    approved = SchemaReview.objects.filter(
        change_request=OuterRef("pk"),
        reviewer=user,
        dismissed_at__isnull=True,
        verdict=Review.Verdict.APPROVE,
    )
    return (
        SchemaChangeRequest.objects.filter(eligible, status__in=ChangeRequest.AWAITING_APPROVAL)
        .exclude(author=user)
        .exclude(Exists(approved))
        .select_related("schema", "author")
        .defer("body", "schema__body")
        .order_by("created_at", "id")
    )


def _role_everywhere(user, configs: AffectedConfigs, role: str) -> bool:
    """`role` or above in every namespace whose configs change; superusers anywhere. When no
    config changes, admins anywhere (as for an unused schema)."""
    if getattr(user, "is_superuser", False):
        return True
    if not configs.namespaces:
        return access.is_admin_somewhere(user)
    return all(access.has_role(user, ns, role) for ns in configs.namespaces)


def may_review(user, configs: AffectedConfigs) -> bool:
    """Reviewers in every namespace whose configs change; superusers anywhere."""
    return _role_everywhere(user, configs, Role.REVIEWER)


def may_bypass(user, configs: AffectedConfigs) -> bool:
    """Admins of every namespace whose configs change; superusers anywhere."""
    return _role_everywhere(user, configs, Role.ADMIN)


def schema_gate(
    change_request: SchemaChangeRequest, configs: AffectedConfigs | None = None
) -> Gate:
    """The strictest policy of the configs that change (an owner's approval for each config
    that requires one); only eligible reviewers' approvals of the exact proposal count, never
    the author's."""
    configs = affected_configs(change_request) if configs is None else configs
    standing = [
        r for r in change_request.reviews.select_related("reviewer") if r.dismissed_at is None
    ]
    approvers = [
        r.reviewer
        for r in standing
        if r.verdict == Review.Verdict.APPROVE
        and r.proposal_hash == change_request.proposal_hash
        and r.reviewer_id != change_request.author_id
        and may_review(r.reviewer, configs)
    ]
    return Gate(
        required=configs.required_approvals,
        approvers=approvers,
        blockers=[r.reviewer for r in standing if r.verdict == Review.Verdict.REQUEST_CHANGES],
        owner_required=configs.owner_approval_required,
        owner_approved=configs.owners_approved({u.pk for u in approvers}),
    )


def _lock(change_request: SchemaChangeRequest) -> SchemaChangeRequest:
    return (
        SchemaChangeRequest.objects.select_for_update(of=("self",))
        .select_related("schema")
        .get(pk=change_request.pk)
    )


def _ensure_allowed(change_request: SchemaChangeRequest, action: str, doing: str) -> None:
    if change_request.allows(action):
        return
    if change_request.status == Status.CONFLICTED:
        raise Conflict(
            f"Schema change #{change_request.pk} is conflicted: the schema or one of its configs "
            f"moved on. Its author must rebase it before it can be {doing}."
        )
    raise RuleViolation(
        f"Schema change #{change_request.pk} is "
        f"{change_request.get_status_display().lower()}; it cannot be {doing}."
    )


def _refresh_status(
    change_request: SchemaChangeRequest, configs: AffectedConfigs | None = None
) -> None:
    if change_request.status not in ChangeRequest.IN_REVIEW_STATES:
        return
    change_request.status = schema_gate(change_request, configs).review_status


_VERDICTS = {
    "approve": "schema_change.approved",
    "request_changes": "schema_change.changes_requested",
}


def _verdict(
    change_request, reviewer, verdict: str, comment: str, seen_revision: int | None
) -> SchemaReview:
    change_request = _lock(change_request)
    configs = affected_configs(change_request)
    if not may_review(reviewer, configs):
        namespaces = ", ".join(sorted(ns.slug for ns in configs.namespaces))
        raise PermissionDenied(
            f"Reviewing this schema change needs the reviewer role in every namespace whose "
            f"configs change ({namespaces})."
        )
    if reviewer.pk == change_request.author_id:
        raise PermissionDenied("Authors cannot review their own change.")
    if seen_revision is not None and seen_revision != change_request.revision:
        raise Conflict(
            "The proposal changed since you opened it; read the new schema and values, then "
            "review again."
        )
    _ensure_allowed(change_request, verdict, "reviewed")
    change_request.reviews.filter(reviewer=reviewer, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
    review = SchemaReview.objects.create(
        change_request=change_request,
        reviewer=reviewer,
        verdict=verdict,
        proposal_hash=change_request.proposal_hash,
        comment=comment,
    )
    _refresh_status(change_request, configs)
    change_request.save(update_fields=["status", "updated_at"])
    _audit(_VERDICTS[verdict], change_request, reviewer, reason=comment)
    pk, review_pk = change_request.pk, review.pk
    after_commit(
        lambda: notifications.reviewed(pk, review_pk),
        what=f'E-mail "reviewed" of change request {pk}',
    )
    return review


@transaction.atomic
def schema_change_approve(
    *,
    change_request: SchemaChangeRequest,
    reviewer,
    comment: str = "",
    seen_revision: int | None = None,
) -> SchemaReview:
    """Approve the exact schema and values now proposed; with `seen_revision`, only if the
    reviewer saw them as they are now."""
    return _verdict(change_request, reviewer, Review.Verdict.APPROVE, comment, seen_revision)


@transaction.atomic
def schema_change_request_changes(
    *,
    change_request: SchemaChangeRequest,
    reviewer,
    comment: str,
    seen_revision: int | None = None,
) -> SchemaReview:
    """Block publishing until this reviewer approves."""
    comment = _require_text(comment, "A comment saying what to change")
    return _verdict(
        change_request, reviewer, Review.Verdict.REQUEST_CHANGES, comment, seen_revision
    )


@transaction.atomic
def schema_change_withdraw(
    *, change_request: SchemaChangeRequest, actor, reason: str = ""
) -> SchemaChangeRequest:
    change_request = _lock(change_request)
    _author_only(change_request, actor, "withdraw")
    _ensure_allowed(change_request, "withdraw", "withdrawn")
    change_request.status = Status.WITHDRAWN
    change_request.save(update_fields=["status", "updated_at"])
    _audit("schema_change.withdrawn", change_request, actor, reason=reason)
    return change_request


def earliest_instant(change_request: SchemaChangeRequest) -> tuple[datetime | None, list[str]]:
    """The earliest instant every item can take effect (after every scheduled version in the
    way), and the scheduled versions that are in the way, in words."""
    waiting = (
        change_request.items.filter(base_version__effective_at__gt=timezone.now())
        .order_by("config__namespace__slug", "config__key")
        .values_list(
            "config__namespace__slug",
            "config__key",
            "base_version__number",
            "base_version__effective_at",
        )
    )
    in_the_way = [
        (f"{namespace}/{key} version {number} (takes effect {at:%Y-%m-%d %H:%M} UTC)", at)
        for namespace, key, number, at in waiting
    ]
    if not in_the_way:
        return None, []
    return max(at for _, at in in_the_way), [words for words, _ in in_the_way]


def _moved(change_request: SchemaChangeRequest) -> str:
    """Why the proposal no longer fits what is stored, or ''.

    In a number of queries that does not grow with the items: the schema's newest version, the
    first item whose config's newest version is not its base, and the values in force of the
    configs without an item."""
    newest = change_request.schema.versions.latest("number")
    if newest.pk != change_request.base_version_id:
        return f"Schema {change_request.schema.name} moved to version {newest.number}."
    newest_version = (
        Version.objects.active().filter(config=OuterRef("config_id")).order_by("-number")
    )
    moved = (
        change_request.items.annotate(newest_id=Subquery(newest_version.values("id")[:1]))
        .filter(~Q(newest_id=F("base_version_id")) | Q(newest_id__isnull=True))
        .order_by("config_id")
        .values_list("config__namespace__slug", "config__key", "base_version__number")
        .first()
    )
    if moved:
        namespace, key, number = moved
        return f"{namespace}/{key} moved past version {number}."
    rejected = values_rejected(
        configs=Config.objects.filter(schema_id=change_request.schema_id).exclude(
            pk__in=change_request.items.values("config_id")
        ),
        body=change_request.body,
    )
    if rejected:
        return f"{rejected[0][0].label} now has a value the new schema rejects."
    return ""


def schema_change_publish(
    *,
    change_request: SchemaChangeRequest,
    actor,
    effective_at: datetime | None = None,
    bypass_reason: str | None = None,
) -> SchemaChangeRequest:
    """Publish the schema version and every item's new version, in one transaction or not at
    all; admins of every namespace whose configs change may bypass missing approvals with a
    reason, shown as a bypass on every config version it writes.

    The schema row and every config using it are locked first (the same order as a config
    publish, which locks its config), so a racing config publish and this one see each other."""
    conflict = None
    with transaction.atomic():
        # FOR NO KEY UPDATE: a config publish inserting a version takes a key-share lock on the
        # schema row (the version's foreign key) while holding its config; a full lock here
        # would wait on it while it waits on us.
        Schema.objects.select_for_update(no_key=True).filter(pk=change_request.schema_id).first()
        list(
            Config.objects.select_for_update(of=("self",))
            .filter(schema_id=change_request.schema_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        change_request = _lock(change_request)
        configs = affected_configs(change_request)
        bypass = bypass_reason is not None
        if bypass:
            if not may_bypass(actor, configs):
                raise PermissionDenied(
                    "Publishing without the required approvals needs the admin role in every "
                    "namespace whose configs change."
                )
            bypass_reason = _require_text(bypass_reason, "A reason for the bypass")
        _ensure_allowed(change_request, "bypass" if bypass else "publish", "published")
        gate = schema_gate(change_request, configs)
        note = ""
        if bypass and gate.satisfied:
            # Nothing is missing, so nothing is bypassed (as for a config's change request).
            bypass, note, bypass_reason = False, bypass_reason or "", None
        if (
            not bypass
            and not may_review(actor, configs)
            and not (actor.pk == change_request.author_id and not configs.needs_review)
        ):
            raise PermissionDenied(
                "Publishing this schema change needs the reviewer role in every namespace whose "
                "configs change."
            )
        if not bypass and not gate.satisfied:
            raise RuleViolation("Cannot publish yet: it needs " + "; ".join(gate.missing) + ".")
        why = _moved(change_request)
        if why:
            change_request.status = Status.CONFLICTED
            change_request.save(update_fields=["status", "updated_at"])
            _audit("schema_change.conflicted", change_request, actor, reason=why)
            conflict = Conflict(f"{why} Rebase the schema change on what is there now.")
        else:
            earliest, in_the_way = earliest_instant(change_request)
            if earliest and (effective_at is None or effective_at < earliest):
                raise RuleViolation(
                    "A scheduled version is in the way: "
                    + "; ".join(in_the_way)
                    + f". The change can take effect at {earliest:%Y-%m-%d %H:%M} UTC at the "
                    "earliest: schedule it for then."
                )
            schema = change_request.schema
            version = schema_version_add(
                schema=schema, body=change_request.body, actor=actor, reason=change_request.title
            )
            # Only what publishing needs of each item, as plain rows: thousands of model
            # instances with their configs and base versions (values parsed) cost seconds.
            items = list(
                change_request.items.order_by("config_id").values_list(
                    "config_id",
                    "config__namespace__slug",
                    "config__key",
                    "value",
                    "base_version__number",
                )
            )
            labels = {config_id: f"{namespace}/{key}" for config_id, namespace, key, *_ in items}
            # Every item's config at once (checked against the new body just written), in a
            # number of queries that does not grow with the thousands of configs a schema has.
            published = versions_publish(
                changes=[
                    NewVersion(config_id=config_id, value=value, base_number=base_number)
                    for config_id, _namespace, _key, value, base_number in items
                ],
                actor=actor,
                reason=change_request.title,
                effective_at=effective_at,
                bypass_reason=bypass_reason or "",
            )
            # Each config's newest version is the one just published (its row is locked).
            change_request.items.update(
                published_version=Subquery(
                    Version.objects.filter(config=OuterRef("config_id"))
                    .order_by("-number")
                    .values("pk")[:1]
                )
            )
            # Open change requests of those configs are based on versions now replaced, as
            # after any publish (their configs are locked above).
            overtaken(
                open_on_configs(change_request.items.values("config_id")),
                actor,
                f"Schema change #{change_request.pk} published a new version of this config "
                f"for schema version {version.number}.",
            )
            change_request.status = Status.PUBLISHED
            change_request.published_version = version
            change_request.save(update_fields=["status", "published_version", "updated_at"])
            _audit(
                "schema_change.published",
                change_request,
                actor,
                reason=change_request.title,
                version=version.number,
                configs={label: published[config_id].number for config_id, label in labels.items()},
                approved_by=[u.username for u in gate.approvers],
                bypass=bypass,
                **({"note": note} if note else {}),
            )
            pk = change_request.pk
            if bypass:
                _audit(
                    "schema_change.bypass",
                    change_request,
                    actor,
                    reason=bypass_reason or "",
                    version=version.number,
                    missing=gate.missing,
                )
                reason = bypass_reason or ""
                after_commit(
                    lambda: notifications.bypassed(pk, reason),
                    what=f'E-mail "bypassed" of change request {pk}',
                )
            after_commit(
                lambda: notifications.published(pk),
                what=f'E-mail "published" of change request {pk}',
            )
    if conflict:
        raise conflict
    return change_request


@transaction.atomic
def schema_change_rebase(*, change_request: SchemaChangeRequest, actor) -> SchemaChangeRequest:
    """Base a conflicted schema change on the schema's and configs' newest versions: values the
    author gave are kept for configs that did not move; the rest are migrated again."""
    change_request = _lock(change_request)
    _author_only(change_request, actor, "rebase")
    _ensure_allowed(change_request, "rebase", "rebased")
    schema = change_request.schema
    kept = {
        str(item.config): item.value
        for item in change_request.items.select_related("config__namespace", "base_version")
        if not item.migrated
    }
    # The plan passes over kept values of configs the schema no longer rejects.
    plan = schema_change_plan(schema=schema, body=change_request.body, values=kept)
    problems = _invalid(plan)
    if problems:
        raise InvalidValues(problems)
    change_request.items.all().delete()
    change_request.reviews.filter(dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE).update(
        dismissed_at=timezone.now()
    )
    change_request.base_version = schema.versions.latest("number")
    change_request.revision += 1
    change_request.status = Status.IN_REVIEW
    _store_plan(change_request, plan)
    _refresh_status(change_request)
    change_request.save()
    _audit(
        "schema_change.rebased",
        change_request,
        actor,
        to_version=change_request.base_version.number,
        configs=[item.label for item in plan],
    )
    pk = change_request.pk
    after_commit(
        lambda: notifications.review_requested(pk),
        what=f'E-mail "review_requested" of change request {pk}',
    )
    return change_request
