"""The life of a change request, for every kind (config changes, new configs, a schema's change
with the values it migrates). Every change to a change request is one function here, used by
the console, the API and the management commands alike: it checks the rule (reviews/gate.py
says who may), writes in one transaction, records the audit event and sends notifications only
after commit. What only a schema change does is in reviews/kinds/schema.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from audit.services import record
from common.after_commit import after_commit
from common.errors import Conflict, InvalidValue, RuleViolation
from configs import access, environments
from configs.diff import first_changes, merged
from configs.environments import Env
from configs.models import Config, Role, Schema, Version, canonical_json, schema_text
from configs.override_words import override_sentences
from configs.secrets import is_credential_problem
from configs.selectors import live_version, newest_version, value_errors
from configs.services import NewVersion, version_publish, versions_publish
from reviews import notifications
from reviews.gate import (
    can_publish,
    ensure_may_author,
    ensure_may_bypass,
    ensure_may_review,
    gate_for,
    may_see,
)
from reviews.kinds import schema as schema_kind
from reviews.models import Change, ChangeRequest, Review, changes_hash

Status = ChangeRequest.Status


@dataclass(frozen=True)
class Proposed:
    """One config's new value in a set, as its author proposes it: on version `base_version`
    of the config (None for a config with no version yet)."""

    config: Config
    value: Any
    base_version: int | None
    # Its overrides; None keeps those it has (the change's in an edit, else the base version's).
    overrides: Any = None
    # The environment whose line of versions it continues (None: the default environment).
    environment: Env | None = None

    @property
    def line(self) -> tuple[int, int]:
        return (self.config.pk, environments.id_of(self.environment))

    @property
    def label(self) -> str:
        return environments.labelled(str(self.config), self.line[1])


def _overrides(item: Proposed, kept: Change | Version | None) -> list:
    """What a proposal's overrides are once stored."""
    if item.overrides is not None:
        return list(item.overrides)
    return list(kept.overrides) if kept is not None else []


def _lock(change_request: ChangeRequest) -> ChangeRequest:
    # Every transition re-reads the row under a lock, so two transitions never interleave.
    # Its changes are read when needed: a schema change's thousands only as rows.
    return ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change_request.pk)


_ONLY_THE_AUTHOR = {
    "edit": "Only the author can edit a change request.",
    "submit": "Only the author can submit a draft for review.",
    "rebase": "Only the author can rebase a change request.",
}


def _ensure_author(actor, change_request: ChangeRequest, doing: str) -> None:
    """Only the author `doing` it, and only while they may still propose what it changes."""
    if actor.pk != change_request.author_id:
        raise PermissionDenied(_ONLY_THE_AUTHOR[doing])
    ensure_may_author(actor, change_request, doing)


def _ensure_allowed(change_request: ChangeRequest, action: str, doing: str) -> None:
    """Refuse `action` unless the action table lets it start from the change's state."""
    if change_request.allows(action):
        return
    by_author = action in ("edit", "submit")
    if change_request.status == Status.DRAFT or (
        change_request.status == Status.CONFLICTED_DRAFT and not by_author
    ):
        raise RuleViolation(
            f"Change request #{change_request.pk} is a draft: its author has not submitted "
            f"it for review yet, so it cannot be {doing}."
        )
    if change_request.status in (Status.CONFLICTED, Status.CONFLICTED_DRAFT):
        raise Conflict(
            f"{_moved(change_request) or 'A config in it moved on.'} "
            f"Its author must rebase it before it can be {doing}."
        )
    raise RuleViolation(
        f"Change request #{change_request.pk} is "
        f"{change_request.get_status_display().lower()}; it cannot be {doing}."
    )


def _moved(change_request: ChangeRequest) -> str:
    """Which changes' configs (or schema) moved past their base, in words ('' when none did)."""
    schema_change = change_request.schema_change
    if schema_change is not None:
        return schema_kind.moved(change_request, schema_change)
    moved = []
    for change in change_request.change_list:
        newest = newest_version(change.config, change.env)
        if (newest.pk if newest else None) != change.base_version_id:
            base = change.base_version.number if change.base_version else None
            moved.append(
                f"{change.label} is now at version {newest.number if newest else None}; "
                f"this change was based on version {base}."
            )
    return " ".join(moved)


def _refresh_status(change_request: ChangeRequest) -> None:
    """Move an open change request between in review / approved / changes requested."""
    if change_request.status not in ChangeRequest.IN_REVIEW_STATES:
        return
    change_request.status = gate_for(change_request).review_status


# An audit event describes this many changes at most and counts the rest, so a proposal that
# adds a quarter of a million list items neither takes seconds to submit nor fills the log.
AUDITED_CHANGES = 1000


def _audited_diff(before, after) -> dict:
    changes, total = first_changes(before, after, limit=AUDITED_CHANGES)
    return {"diff": changes, **({"changes_in_all": total} if total > len(changes) else {})}


# Details keyed by (or listing) "namespace/key": each namespace's event keeps only its own
# configs'.
_BY_CONFIG = ("diffs", "base_versions", "versions", "configs")
# Details keyed by config in a set's events, and a list of words in a one-config event's.
_KEYED_IN_A_SET = ("override_changes",)


def _only(value, labels: set[str]):
    if isinstance(value, dict):
        return {label: v for label, v in value.items() if label in labels}
    return [label for label in value if label in labels]


def _environment_name(change: Change) -> str | None:
    """The environment a config change is for, by name (None: a new config's first value, for
    every environment)."""
    env = change.env
    return env.name if env is not None else None


def _audit(
    action: str,
    change_request: ChangeRequest,
    actor,
    reason: str = "",
    change: Change | None = None,
    **details,
):
    """Record `action`: one event per namespace the changes touch, each with only that
    namespace's configs and diffs (its members and admins see that part and no other), or with
    `change` one event about that config. A draft's events say so: nobody else hears of them."""
    if change_request.is_draft:
        details.setdefault("draft", True)
    schema_change = change_request.schema_change
    by_namespace: dict[str, list[str]] = {}
    # The environment each config change is for, by label: every event names it.
    environment_of: dict[str, str | None] = {}
    if change is not None:
        by_namespace[change.config.namespace.slug] = [change.label]
        environment_of[change.label] = _environment_name(change)
    elif schema_change is not None:
        details = {"schema": schema_change.schema.name, **details}
        # A schema nobody uses: one event, seen by superusers.
        # Changing no value, it reaches the namespaces using the schema (their reviewers review
        # it); a schema nobody uses, superusers.
        by_namespace = (
            schema_kind.labels_by_namespace(change_request)
            or {namespace.slug: [] for namespace in change_request.namespaces}
            or {"": []}
        )
    else:
        for one in change_request.change_list:
            by_namespace.setdefault(one.config.namespace.slug, []).append(one.label)
            environment_of[one.label] = _environment_name(one)
    event = None
    for slug, labels in sorted(by_namespace.items()):
        # Details keyed by "namespace/key" or by the label ("namespace/key@environment").
        mine = set(labels) | {label.partition("@")[0] for label in labels}
        part = {
            key: _only(value, mine)
            if key in _BY_CONFIG or (key in _KEYED_IN_A_SET and isinstance(value, dict))
            else value
            for key, value in details.items()
        }
        named = sorted({name for label in labels if (name := environment_of.get(label))})
        if len(named) == 1:
            part = {"environment": named[0], **part}
        elif named:
            part = {"environments": named, **part}
        if change is None and not change_request.is_single:
            part = {"changes": sorted(labels), **part}
        event = record(
            action,
            actor=actor,
            target=change_request,
            namespace=slug,
            # The key alone: the audit log filters events by namespace and key.
            config=labels[0].split("/", 1)[1].partition("@")[0] if len(labels) == 1 else "",
            reason=reason,
            details={"change_request": change_request.pk, **part},
        )
    return event


def _save(change_request: ChangeRequest, actor, reason: str = "") -> None:
    # django-simple-history reads these two attributes when it writes the history row.
    change_request._history_user = actor  # type: ignore[attr-defined]
    change_request._change_reason = reason[:1000] or None  # type: ignore[attr-defined]
    change_request.save()


def _check_values(proposed: Sequence[Proposed]) -> None:
    """Every value fits its config's schema; in a set of several, each error names its
    config."""
    errors = []
    for item in proposed:
        found = value_errors(config=item.config, value=item.value, overrides=item.overrides)
        if len(proposed) > 1:
            found = [{"change": str(item.config), **error} for error in found]
        errors += found
    if errors:
        raise InvalidValue(errors)


def _ensure_changes_something(
    base: Version | None, value, config: Config | None = None, overrides=None
) -> None:
    """Refuse a proposal equal to the version it is based on (its value and its overrides;
    None: the base's): there would be nothing to review."""
    if base is None or base.value_json != canonical_json(value):
        return
    if overrides is not None and canonical_json(overrides) != canonical_json(base.overrides):
        return
    where = f" of {config}" if config is not None else ""
    raise ValidationError(
        f"Nothing would change: the value{where} is the same as version {base.number}. "
        "Edit the value, then propose it."
    )


def _require_text(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(f"{what} is required.")
    return text


def _title(title: str | None) -> str:
    """A change request's title: required, and one line (it heads emails and lists)."""
    title = _require_text(title, "A title saying why")
    if "\n" in title or "\r" in title:
        raise ValidationError("A title is one line: put the details in the description.")
    longest = ChangeRequest._meta.get_field("title").max_length or 0
    if len(title) > longest:
        # Forms and the API check this too; the promote page and imports reach here unchecked.
        raise ValidationError(
            f"A title is at most {longest} characters (this one has {len(title)}): "
            "put the details in the description."
        )
    return title


def _newest_bases(proposed: Sequence[Proposed]) -> list[Version | None]:
    """Each proposal's base: its config's newest version, which must be the one it names."""
    lines = [item.line for item in proposed]
    if len(set(lines)) != len(lines):
        raise ValidationError(
            "A change request changes each config once in each environment: a config is repeated."
        )
    bases = []
    for item in proposed:
        newest = newest_version(item.config, item.environment)
        newest_number = newest.number if newest else None
        if item.base_version != newest_number:
            raise Conflict(
                f"{item.label} is at version {newest_number}, not {item.base_version}: "
                "reload it and make your change on the newest version."
            )
        _ensure_changes_something(
            newest, item.value, item.config if len(proposed) > 1 else None, item.overrides
        )
        bases.append(newest)
    return bases


def _write_changes(
    change_request: ChangeRequest, proposed: Sequence[Proposed], bases: Sequence[Version | None]
) -> None:
    """Store the set's changes and the hash an approval is for."""
    bulk_create_with_history(
        [
            Change(
                change_request=change_request,
                kind=Change.Kind.CONFIG if base is not None else Change.Kind.NEW_CONFIG,
                config=item.config,
                # A new config's first value is for every environment.
                environment_id=item.line[1] if base is not None else None,
                base_version=base,
                value=item.value,
                overrides=_overrides(item, base),
            )
            for item, base in zip(proposed, bases, strict=True)
        ],
        Change,
        default_user=change_request.author,
    )
    change_request.forget_changes()
    change_request.proposal_hash = changes_hash(change_request.change_list)


def _override_words(config: Config, before: Change | Version | None, value, overrides) -> list:
    """What changes in a config's overrides, in words: from `before` (a version, or the change
    an edit replaces; None: nothing before) to `value` with `overrides`."""
    return override_sentences(
        before.value if before is not None else None,
        before.overrides if before is not None else [],
        value,
        overrides,
        config.schema.body if config.schema is not None else None,
    )


def _override_details(told: Sequence[tuple[Proposed, Change | Version | None]]) -> dict:
    """The audited overrides' changes, in words (none: nothing): of the one config, or of each
    config of a set by its label (as its change is named)."""
    words = {
        # A new config's change is for every environment: named without one.
        (item.label if before is not None else str(item.config)): lines
        for item, before in told
        if (lines := _override_words(item.config, before, item.value, _overrides(item, before)))
    }
    if not words:
        return {}
    if len(told) == 1:
        return {"override_changes": next(iter(words.values()))}
    return {"override_changes": words}


def _diff_details(pairs: Sequence[tuple[Change | Proposed, Any, Any]]) -> dict:
    """The audited diff: of the one config, or of each config of a set."""
    if len(pairs) == 1:
        _, before, after = pairs[0]
        return _audited_diff(before, after)
    return {
        "diffs": {str(item.config): _audited_diff(before, after) for item, before, after in pairs}
    }


@transaction.atomic
def change_request_open(
    *,
    author,
    title: str,
    description: str = "",
    config: Config | None = None,
    value=None,
    base_version: int | None = None,
    overrides: list | None = None,
    changes: Sequence[Proposed] = (),
    publish: bool = False,
    draft: bool = False,
    effective_at: datetime | None = None,
    environment: Env | None = None,
) -> ChangeRequest:
    """Propose a set of changes (`changes`, or one: `value` with `overrides` for `config` based
    on version `base_version` in `environment` (None: the default one); overrides None: the base
    version's) and ask for review.

    With `publish`, also publish it at once when the gate allows (a namespace that needs no
    approvals); either both happen or neither. With `draft`, keep it as the author's draft:
    nobody is asked to review it until `change_request_submit`.
    """
    if draft and publish:
        raise ValueError("A draft cannot be published at once: submit it for review first.")
    proposed = list(changes) or (
        [Proposed(config, value, base_version, overrides, environment)] if config else []
    )
    if not proposed:
        raise ValidationError("A change request needs at least one change.")
    for item in proposed:
        access.ensure_role(author, item.config.namespace, Role.EDITOR)
    title = _title(title)
    _check_values(proposed)
    bases = _newest_bases(proposed)
    change_request = ChangeRequest(
        author=author,
        title=title,
        description=description,
        status=Status.DRAFT if draft else Status.IN_REVIEW,
    )
    _save(change_request, author, title)
    _write_changes(change_request, proposed, bases)
    change_request.save(update_fields=["proposal_hash"])
    base_numbers = [base.number if base else None for base in bases]
    _audit(
        "change_request.opened",
        change_request,
        author,
        reason=title,
        **(
            {"base_version": base_numbers[0]}
            if len(proposed) == 1
            else {
                "base_versions": {
                    str(p.config): n for p, n in zip(proposed, base_numbers, strict=True)
                }
            }
        ),
        **_diff_details(
            [
                (item, base.value if base else None, item.value)
                for item, base in zip(proposed, bases, strict=True)
            ]
        ),
        **_override_details(list(zip(proposed, bases, strict=True))),
        **_draft_flag(draft),
    )
    if draft:
        return change_request
    _refresh_status(change_request)
    change_request.save(update_fields=["status"])
    if publish:
        change_request_publish(
            change_request=change_request, actor=author, effective_at=effective_at
        )
        change_request.refresh_from_db()
        change_request.forget_changes()
    else:
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


def _draft_flag(draft: bool) -> dict[str, Any]:
    return {"draft": True} if draft else {}


def _schema_proposal(
    *,
    schema: Schema,
    body: dict,
    base,
    values: dict | None,
    draft: bool,
) -> list[schema_kind.Affected]:
    """Check a schema change's proposal against `base` (a schema version) and plan the values
    it migrates; a draft may hold values still to fix, never a credential."""
    schema_kind.check_body(body)
    if schema_text(body) == schema_text(base.body):
        raise ValidationError(
            f"Nothing would change: the schema is the same as version {base.number}."
        )
    plan = schema_kind.plan(schema=schema, body=body, values=values)
    schema_kind.refuse_unaffected(plan, values)
    problems = schema_kind.invalid(plan)
    if problems and (not draft or any(map(is_credential_problem, problems))):
        raise schema_kind.InvalidValues(problems)
    return plan


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
) -> ChangeRequest:
    """Propose `body` as the schema's next version, with the new value of every config it
    would reject (`values` by "namespace/key", else migrated by the schema's defaults), and ask
    for review; or, as a `draft`, keep it for its author alone, with values still to fix."""
    access.ensure_can_edit_schema(author, schema)
    title = _title(title)
    newest = schema.versions.latest("number")
    if newest.number != base_version:
        raise Conflict(
            f"Schema {schema.name} is at version {newest.number}, not {base_version}: reload "
            "it and make your change on the newest version."
        )
    plan = _schema_proposal(schema=schema, body=body, base=newest, values=values, draft=draft)
    change_request = ChangeRequest(
        author=author,
        title=title,
        description=description,
        status=Status.DRAFT if draft else Status.IN_REVIEW,
    )
    _save(change_request, author, title)
    schema_kind.store(change_request, schema=schema, base=newest, body=body, plan=plan)
    change_request.save(update_fields=["proposal_hash"])
    _audit(
        "change_request.opened",
        change_request,
        author,
        reason=title,
        schema_base_version=newest.number,
        **_draft_flag(draft),
    )
    if not draft:
        _refresh_status(change_request)
        change_request.save(update_fields=["status"])
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


def _dismiss_approvals(change_request: ChangeRequest) -> int:
    return change_request.reviews.filter(
        dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE
    ).update(dismissed_at=timezone.now())


@transaction.atomic
def change_request_edit(
    *,
    change_request: ChangeRequest,
    actor,
    value=None,
    overrides: list | None = None,
    changes: Sequence[Proposed] | None = None,
    body: dict | None = None,
    values: dict[str, Any] | None = None,
    title: str | None = None,
    description: str | None = None,
) -> ChangeRequest:
    """The author's new proposal: `value` and/or `overrides` (None: kept as they are) for the
    one config of a one-config change request,
    or `changes`, the new set (configs already in it keep their base; a config added must be
    proposed on its newest version; a config left out is dropped); for a schema change,
    another schema (`body`) or new values for some of its configs (`values` by "namespace/key";
    values given before are kept for the others). Every earlier approval is dismissed: it was
    for another set.

    A draft stays a draft: only `change_request_submit` sends it for review."""
    change_request = _lock(change_request)
    _ensure_author(actor, change_request, "edit")
    _ensure_allowed(change_request, "edit", "edited")
    if change_request.schema_change is not None:
        if value is not None or changes is not None:
            raise ValidationError(
                "A schema change carries a schema and one value per config it would reject: "
                'give another schema, or values by "namespace/key".'
            )
        return _schema_change_edit(change_request, actor, body, values, title, description)
    if body is not None or values is not None:
        raise ValidationError("This change request changes no schema: give `value` or `changes`.")
    before = {c.line: c for c in change_request.change_list}
    if changes is None:
        if value is None and overrides is None:
            raise ValidationError("Give the new value.")
        if not change_request.is_single:
            raise ValidationError(
                "This change request changes several configs: give each config's value (`changes`)."
            )
        only = change_request.change
        changes = [
            Proposed(
                only.config,
                only.value if value is None else value,
                only.base_version_number,
                overrides,
                only.env,
            )
        ]
    proposed = list(changes)
    if not proposed:
        raise ValidationError(
            "A change request needs at least one change: withdraw it to drop them all."
        )
    for item in proposed:
        access.ensure_role(actor, item.config.namespace, Role.EDITOR)
    _check_values(proposed)
    kept = [p for p in proposed if p.line in before]
    added = [p for p in proposed if p.line not in before]
    for item in kept:
        _ensure_changes_something(
            before[item.line].base_version,
            item.value,
            item.config if len(proposed) > 1 else None,
            _overrides(item, before[item.line]),
        )
    added_bases = _newest_bases(added) if added else []
    if len({p.line for p in proposed}) != len(proposed):
        raise ValidationError("A change request changes each config once: a config is repeated.")
    pairs = [(item, before[item.line].value, item.value) for item in kept] + [
        (item, base.value if base else None, item.value)
        for item, base in zip(added, added_bases, strict=True)
    ]
    told = _override_details(
        [(item, before[item.line]) for item in kept] + list(zip(added, added_bases, strict=True))
    )
    dismissed = _dismiss_approvals(change_request)
    kept_lines = {item.line for item in kept}
    for dropped in change_request.change_list:
        if dropped.line not in kept_lines:
            dropped._history_user = actor  # type: ignore[attr-defined]
            dropped.delete()
    for item in kept:
        change = before[item.line]
        overrides = _overrides(item, change)
        if change.value != item.value or change.overrides != overrides:
            change.value, change.overrides = item.value, overrides
            change._history_user = actor  # type: ignore[attr-defined]
            change.save(update_fields=["value", "overrides"])
    _write_changes(change_request, added, added_bases)
    return _edited(
        change_request, actor, title, description, dismissed, **_diff_details(pairs), **told
    )


def _edited(
    change_request: ChangeRequest,
    actor,
    title: str | None,
    description: str | None,
    dismissed: int,
    **details,
) -> ChangeRequest:
    """An edit's end, for every kind: the next revision, its title and description, where it
    stands now, and the audit event."""
    change_request.revision += 1
    if title is not None:
        change_request.title = _title(title)
    if description is not None:
        change_request.description = description
    _refresh_status(change_request)
    _save(change_request, actor, "edited")
    _audit(
        "change_request.edited",
        change_request,
        actor,
        revision=change_request.revision,
        dismissed_approvals=dismissed,
        **details,
    )
    return change_request


def _schema_change_edit(
    change_request: ChangeRequest,
    actor,
    body: dict | None,
    values: dict[str, Any] | None,
    title: str | None,
    description: str | None,
) -> ChangeRequest:
    """change_request_edit's part for a schema change: its values are planned again against
    each config's newest version."""
    schema_change = change_request.schema_change
    assert schema_change is not None
    body = schema_change.body if body is None else body
    if (
        schema_text(body) == schema_text(schema_change.body)
        and not values
        and title in (None, change_request.title)
        and description in (None, change_request.description)
    ):
        raise ValidationError("Nothing would change: give another schema, a value or a title.")
    # Values given before stay for configs the new body still rejects (the plan passes over
    # the others); values given now must each be for such a config.
    given = schema_kind.given_values(change_request)
    base = schema_change.schema_base_version
    plan = _schema_proposal(
        schema=schema_change.schema,
        body=body,
        base=base,
        values={**given, **(values or {})},
        draft=change_request.is_draft,
    )
    schema_kind.refuse_unaffected(plan, values)
    dismissed = _dismiss_approvals(change_request)
    schema_kind.store(change_request, schema=schema_change.schema, base=base, body=body, plan=plan)
    return _edited(
        change_request, actor, title, description, dismissed, configs=sorted(values or {})
    )


@transaction.atomic
def change_request_add(
    *,
    change_request: ChangeRequest,
    actor,
    config: Config,
    value,
    base_version: int | None,
    title: str | None = None,
    description: str | None = None,
    overrides: list | None = None,
    environment: Env | None = None,
) -> ChangeRequest:
    """Add `value` (with `overrides`; None: the base version's) for `config` (proposed on its
    version `base_version`, which must be the newest) to the author's change request, or
    replace that config's value in it: the set is then reviewed and published together, and
    earlier approvals are dismissed."""
    if change_request.schema_change is not None:
        raise ValidationError(
            "A schema change holds its schema and the values it migrates: propose this "
            "config's value in a change request of its own."
        )
    adding = Proposed(config, value, base_version, overrides, environment)
    proposed = [
        Proposed(c.config, c.value, c.base_version_number, c.overrides, c.env)
        for c in change_request.change_list
        if c.line != adding.line
    ]
    return change_request_edit(
        change_request=change_request,
        actor=actor,
        changes=[*proposed, adding],
        title=title,
        description=description,
    )


@transaction.atomic
def change_request_submit(*, change_request: ChangeRequest, actor) -> ChangeRequest:
    """The author sends their draft for review; the namespace's reviewers are asked."""
    change_request = _lock(change_request)
    _ensure_author(actor, change_request, "submit")
    _ensure_allowed(change_request, "submit", "submitted for review")
    if change_request.schema_change is not None:
        # A draft may hold values the proposed schema rejects: every one must fit first.
        problems = schema_kind.problems(change_request)
        if problems:
            raise schema_kind.InvalidValues(problems)
    else:
        # The schema may have changed since the draft was saved.
        _check_values(
            [
                Proposed(c.config, c.value, None, c.overrides, c.env)
                for c in change_request.change_list
            ]
        )
    change_request.status = Status.IN_REVIEW
    _refresh_status(change_request)
    _save(change_request, actor, "submitted for review")
    _audit(
        "change_request.submitted",
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


_VERDICT_ACTIONS: dict[str, str] = {
    Review.Verdict.APPROVE: "change_request.approved",
    Review.Verdict.REQUEST_CHANGES: "change_request.changes_requested",
}
_VERDICT_TABLE_ACTIONS: dict[str, str] = {
    Review.Verdict.APPROVE: "approve",
    Review.Verdict.REQUEST_CHANGES: "request_changes",
}


def _verdict(change_request, reviewer, verdict: str, comment: str, seen_revision: int | None):
    """Record a reviewer's verdict on the set now proposed, audit it, tell the author."""
    change_request = _lock(change_request)
    ensure_may_review(reviewer, change_request)
    if reviewer.pk == change_request.author_id:
        raise PermissionDenied("Authors cannot review their own change.")
    if seen_revision is not None and seen_revision != change_request.revision:
        raise Conflict(
            "The proposal changed since you opened it; read what it proposes now, then review "
            "again."
        )
    _ensure_allowed(change_request, _VERDICT_TABLE_ACTIONS[verdict], "reviewed")
    # The reviewer's latest verdict replaces their earlier one.
    change_request.reviews.filter(reviewer=reviewer, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
    review = Review.objects.create(
        change_request=change_request,
        reviewer=reviewer,
        verdict=verdict,
        proposal_hash=change_request.proposal_hash,
        revision=change_request.revision,
        comment=comment,
    )
    _refresh_status(change_request)
    change_request.save(update_fields=["status", "updated_at"])
    _audit(
        _VERDICT_ACTIONS[verdict],
        change_request,
        reviewer,
        reason=comment,
        revision=review.revision,
        proposal_hash=review.proposal_hash,
    )
    pk, review_pk = change_request.pk, review.pk
    after_commit(
        lambda: notifications.reviewed(pk, review_pk),
        what=f'E-mail "reviewed" of change request {pk}',
    )
    return review


@transaction.atomic
def change_request_approve(
    *, change_request: ChangeRequest, reviewer, comment: str = "", seen_revision: int | None = None
) -> Review:
    """Approve the exact set now proposed; with `seen_revision`, only if the reviewer saw it."""
    return _verdict(change_request, reviewer, Review.Verdict.APPROVE, comment, seen_revision)


@transaction.atomic
def change_request_request_changes(
    *, change_request: ChangeRequest, reviewer, comment: str, seen_revision: int | None = None
) -> Review:
    """Block publishing until this reviewer approves; with `seen_revision`, only if the
    reviewer saw the proposal as it is now."""
    comment = _require_text(comment, "A comment saying what to change")
    return _verdict(
        change_request, reviewer, Review.Verdict.REQUEST_CHANGES, comment, seen_revision
    )


@transaction.atomic
def change_request_comment(*, change_request: ChangeRequest, actor, body: str):
    if not may_see(actor, change_request):
        raise PermissionDenied("You need a role in every namespace it changes to comment.")
    body = _require_text(body, "A comment")
    comment = change_request.comments.create(author=actor, body=body)
    _audit("change_request.commented", change_request, actor, reason=body)
    return comment


@transaction.atomic
def change_request_withdraw(
    *, change_request: ChangeRequest, actor, reason: str = ""
) -> ChangeRequest:
    change_request = _lock(change_request)
    # An author who lost their role may still take their change back.
    if actor.pk != change_request.author_id:
        raise PermissionDenied("Only the author can withdraw a change request.")
    _ensure_allowed(change_request, "withdraw", "withdrawn")
    change_request.status = Status.WITHDRAWN
    _save(change_request, actor, reason or "withdrawn")
    _audit("change_request.withdrawn", change_request, actor, reason=reason)
    return change_request


@transaction.atomic
def change_request_reject(*, change_request: ChangeRequest, actor, reason: str) -> ChangeRequest:
    change_request = _lock(change_request)
    ensure_may_review(actor, change_request, "reject")
    if actor.pk == change_request.author_id:
        raise PermissionDenied("Withdraw your own change request instead of rejecting it.")
    reason = _require_text(reason, "A reason for rejecting")
    _ensure_allowed(change_request, "reject", "rejected")
    change_request.status = Status.REJECTED
    _save(change_request, actor, reason)
    _audit("change_request.rejected", change_request, actor, reason=reason)
    pk = change_request.pk
    after_commit(
        lambda: notifications.rejected(pk), what=f'E-mail "rejected" of change request {pk}'
    )
    return change_request


@transaction.atomic
def change_request_rebase(
    *,
    change_request: ChangeRequest,
    actor,
    value=None,
    values: dict[tuple[int, int] | int, Any] | None = None,
) -> ChangeRequest:
    """Base every change of a conflicted change request on its config's newest version, and
    back in review (a draft stays a draft), approvals dismissed.

    A config that moved gets the author's merged value (`value` for a one-config change
    request, or `values` by change line: (config id, environment id), or by config id where
    the config is in it once), or else this change carried over onto what was
    published since (`configs.diff.merged`); where both changed the same place, the rebase is
    refused, naming the config and the places, so the author merges them by hand: no update is
    lost."""
    change_request = _lock(change_request)
    _ensure_author(actor, change_request, "rebase")
    _ensure_allowed(change_request, "rebase", "rebased")
    if change_request.schema_change is not None:
        if value is not None or values:
            raise ValidationError(
                "A schema change is rebased as it is (values given are kept where their config "
                "did not move): give new values with an edit afterwards."
            )
        details = _schema_change_rebase(change_request)
    else:
        details = _config_changes_rebase(change_request, actor, value, values)
    _dismiss_approvals(change_request)
    change_request.revision += 1
    # A rebased draft stays a draft: only its author's submit sends it for review.
    draft = change_request.status == Status.CONFLICTED_DRAFT
    change_request.status = Status.DRAFT if draft else Status.IN_REVIEW
    _refresh_status(change_request)
    _save(change_request, actor, "rebased")
    _audit("change_request.rebased", change_request, actor, **details)
    if not draft:
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


def _schema_change_rebase(change_request: ChangeRequest) -> dict[str, Any]:
    """Base a schema change on the schema's and configs' newest versions: values the author
    gave are kept for configs the schema still rejects; the rest are migrated again."""
    schema_change = change_request.schema_change
    assert schema_change is not None
    schema = schema_change.schema
    plan = schema_kind.plan(
        schema=schema, body=schema_change.body, values=schema_kind.given_values(change_request)
    )
    problems = schema_kind.invalid(plan)
    if problems:
        raise schema_kind.InvalidValues(problems)
    newest = schema.versions.latest("number")
    if schema_text(schema_change.body) == schema_text(newest.body):
        raise ValidationError(
            f"Nothing would change: schema version {newest.number} is already what this change "
            "proposes. Withdraw it."
        )
    schema_kind.store(
        change_request, schema=schema, base=newest, body=schema_change.body, plan=plan
    )
    return {
        "from_version": schema_change.schema_base_version.number,
        "to_version": newest.number,
    }


def _by_line(
    change_request: ChangeRequest, values: dict[tuple[int, int] | int, Any]
) -> dict[tuple[int, int], Any]:
    """`values` by change line: a config id alone names the config's one change, and is
    refused where the set holds the config in several environments (it would not say which)."""
    by_line: dict[tuple[int, int], Any] = {}
    for key, value in values.items():
        if isinstance(key, tuple):
            by_line[key] = value
            continue
        lines = [c for c in change_request.change_list if c.config_id == key]
        if len(lines) > 1:
            raise ValidationError(
                f"{lines[0].config} is in this change request in several environments "
                f"({', '.join(c.label for c in lines)}): name the environment's change."
            )
        for change in lines:
            by_line[change.line] = value
    return by_line


def _config_changes_rebase(
    change_request: ChangeRequest, actor, value, values: dict[tuple[int, int] | int, Any] | None
) -> dict[str, Any]:
    """change_request_rebase's part for config changes: each carried over onto its config's
    newest version (or the author's merged value, for that environment's change only)."""
    by_line = _by_line(change_request, values or {})
    if value is not None:
        by_line[change_request.change.line] = value
    plan, clashes, moves = [], [], {}
    for change in change_request.change_list:
        newest = newest_version(change.config, change.env)
        new_value = change.value
        if change.line in by_line:
            new_value = by_line[change.line]
        elif newest is not None and newest.pk != change.base_version_id:
            base = change.base_version.value if change.base_version else None
            new_value, places = merged(base, change.value, newest.value)
            if places:
                clashes.append(f"{change.label} ({', '.join(places[:5])})")
        new_overrides, clash = _rebased_overrides(change, newest)
        if clash:
            clashes.append(f"{change.label} (its overrides)")
        plan.append((change, newest, new_value, new_overrides))
        moves[change.label] = (change.base_version_number, newest.number if newest else None)
    if clashes:
        raise Conflict(
            "What was published since changed the same places as this change in "
            + "; ".join(clashes)
            + ": merge them by hand (rebase that config with its merged value)."
        )
    _check_values(
        [Proposed(change.config, v, None, o, change.env) for change, _newest, v, o in plan]
    )
    for change, newest, new_value, new_overrides in plan:
        _ensure_changes_something(
            newest,
            new_value,
            change.config if not change_request.is_single else None,
            new_overrides,
        )
        change.base_version, change.value, change.overrides = newest, new_value, new_overrides
        change._history_user = actor  # type: ignore[attr-defined]
        change.save(update_fields=["base_version", "value", "overrides"])
    change_request.forget_changes()
    change_request.proposal_hash = changes_hash(change_request.change_list)
    if change_request.is_single:
        ((from_version, to_version),) = moves.values()
        return {"from_version": from_version, "to_version": to_version}
    return {"versions": {label: list(move) for label, move in moves.items()}}


def _rebased_overrides(change: Change, newest: Version | None) -> tuple[list, bool]:
    """A change's overrides carried onto the newest version: theirs where the change kept the
    base's, the change's where theirs kept the base's; a clash (True) where both changed them
    differently, so no one's overrides are silently undone."""
    if newest is None or newest.pk == change.base_version_id:
        return change.overrides, False
    base = canonical_json(change.base_version.overrides if change.base_version else [])
    ours, theirs = canonical_json(change.overrides), canonical_json(newest.overrides)
    if ours == base:
        return list(newest.overrides), False
    return change.overrides, theirs not in (base, ours)


def _mark_conflicted(change_request: ChangeRequest, actor, why: str) -> None:
    # A draft stays its author's alone: it becomes a conflicted draft, and nobody is emailed.
    draft = change_request.is_draft
    change_request.status = Status.CONFLICTED_DRAFT if draft else Status.CONFLICTED
    _save(change_request, actor, "conflicted")
    _audit("change_request.conflicted", change_request, actor, reason=why)
    if not draft:
        pk = change_request.pk
        after_commit(
            lambda: notifications.conflicted(pk), what=f'E-mail "conflicted" of change request {pk}'
        )


def open_on_configs(config_ids) -> QuerySet[ChangeRequest]:
    """Change requests with a change to any of `config_ids` (a list or a subquery), in any
    environment."""
    return ChangeRequest.objects.filter(
        pk__in=Change.objects.filter(config_id__in=config_ids).values("change_request_id")
    )


def open_on_lines(lines: Sequence[tuple[int, int]]) -> QuerySet[ChangeRequest]:
    """Change requests with a change to any of `lines` ((config id, environment id)), or a new
    config's first value (for every environment) of one of those configs."""
    touching = Q(pk__in=[])
    for config_id, environment_id in set(lines):
        touching |= Q(config_id=config_id) & (
            Q(environment_id=environment_id) | Q(environment__isnull=True)
        )
    return ChangeRequest.objects.filter(
        pk__in=Change.objects.filter(touching).values("change_request_id")
    )


def overtaken(change_requests: QuerySet[ChangeRequest], actor, why: str) -> None:
    """Mark open `change_requests` conflicted: a version published past their base means they
    can no longer be published as they are. Call it inside the publishing transaction, with
    their configs locked. Locked re-reads: an edit of one of them in flight commits first and
    is kept."""
    others = (
        change_requests.select_for_update(of=("self",))
        .filter(status__in=ChangeRequest.OPEN)
        .exclude(status__in=(Status.CONFLICTED, Status.CONFLICTED_DRAFT))
    )
    for other in others:
        _mark_conflicted(other, actor, why)


def _publish_all(
    change_request: ChangeRequest,
    actor,
    effective_at: datetime | None,
    bypass_reason: str,
) -> dict[tuple[int, int], Version]:
    """Every change's new version, by line (config id, environment id), or nothing (Conflict
    when a base moved). A new config's first value is published in every environment."""
    changes = change_request.change_list
    if change_request.is_single and changes[0].kind == Change.Kind.CONFIG:
        change = changes[0]
        version = version_publish(
            config=change.config,
            value=change.value,
            overrides=change.overrides,
            base_number=change.base_version_number,
            actor=actor,
            reason=change_request.title,
            effective_at=effective_at,
            bypass_reason=bypass_reason,
            environment=change.env,
        )
        return {change.line: version}
    every = [env.id for env in environments.every()]
    return versions_publish(
        changes=[
            NewVersion(
                config_id=c.config.pk,
                value=c.value,
                base_number=c.base_version_number,
                overrides=c.overrides,
                environment_id=environment_id,
            )
            for c in changes
            for environment_id in ([c.line[1]] if c.kind == Change.Kind.CONFIG else every)
        ],
        actor=actor,
        reason=change_request.title,
        effective_at=effective_at,
        bypass_reason=bypass_reason,
    )


def change_request_publish(
    *,
    change_request: ChangeRequest,
    actor,
    effective_at: datetime | None = None,
    bypass_reason: str | None = None,
) -> Version | None:
    """Publish every change of the set, now or at `effective_at`, in one transaction or not at
    all: each config's next version (and, for a schema change, the schema's). Returns the
    (first) config's new version, if any.

    Checks, inside one transaction with the configs' rows locked, that the gate is satisfied (or
    an admin of every namespace it touches bypasses it with a reason) and that every base is
    still the newest version; if not, the change request is marked conflicted (that is kept)
    and Conflict is raised.
    """
    conflict = None
    first: Version | None = None
    with transaction.atomic():
        # Lock order everywhere: configs first (by id), then change requests. Publishing marks
        # the configs' other open change requests conflicted, so it must hold them before any.
        schema_change = (
            Change.objects.filter(change_request=change_request, kind=Change.Kind.SCHEMA)
            .select_related("schema")
            .first()
        )
        config_ids: list[int] = []
        if schema_change is not None:
            schema_kind.lock_configs(schema_change)
        else:
            config_ids = list(
                Change.objects.filter(change_request=change_request).values_list(
                    "config_id", flat=True
                )
            )
            list(Config.objects.select_for_update().filter(pk__in=config_ids).order_by("pk"))
        change_request = _lock(change_request)
        if schema_change is None:
            # A config an edit added after the first read is locked too.
            added = [
                c.config.pk for c in change_request.change_list if c.config.pk not in config_ids
            ]
            if added:
                list(Config.objects.select_for_update().filter(pk__in=added).order_by("pk"))
                config_ids += added
        if not may_see(actor, change_request):
            raise Http404("No such change request.")
        bypass = bypass_reason is not None
        if bypass:
            ensure_may_bypass(actor, change_request)
            bypass_reason = _require_text(bypass_reason, "A reason for the bypass")
        _ensure_allowed(change_request, "bypass" if bypass else "publish", "published")
        gate = gate_for(change_request)
        note = ""
        if bypass and gate.satisfied:
            # Nothing is missing, so nothing is bypassed: history must not show a bypass that
            # did not happen. The admin's reason still goes into the published event.
            bypass, note, bypass_reason = False, bypass_reason or "", None
        if not can_publish(actor, change_request) and not bypass:
            ensure_may_review(actor, change_request, "publish")
        if not bypass and not gate.satisfied:
            raise RuleViolation("Cannot publish yet: it needs " + "; ".join(gate.missing) + ".")
        outcome = {
            "approved_by": [u.username for u in gate.approvers],
            "bypass": bypass,
            **({"note": note} if note else {}),
        }
        try:
            if schema_change is not None:
                _publish_schema_change(
                    change_request, actor, effective_at, bypass_reason, gate.missing, outcome
                )
            else:
                first = _publish_config_changes(
                    change_request,
                    actor,
                    config_ids,
                    effective_at,
                    bypass_reason,
                    gate.missing,
                    outcome,
                )
        except Conflict as exc:
            conflict = exc
            _mark_conflicted(change_request, actor, exc.for_people())
        else:
            pk = change_request.pk
            after_commit(
                lambda: notifications.published(pk),
                what=f'E-mail "published" of change request {pk}',
            )
    if conflict:
        raise conflict
    return first


def _publish_config_changes(
    change_request: ChangeRequest,
    actor,
    config_ids: list[int],
    effective_at: datetime | None,
    bypass_reason: str | None,
    missing: list[str],
    outcome: dict[str, Any],
) -> Version:
    """change_request_publish's part for config changes: one event per config, as each gets
    its own version."""
    published = _publish_all(change_request, actor, effective_at, bypass_reason or "")
    for change in change_request.change_list:
        change.published_version = published[change.line]
        change.save(update_fields=["published_version"])
    change_request.status = Status.PUBLISHED
    _save(change_request, actor, "published")
    for change in change_request.change_list:
        version = published[change.line]
        _audit(
            "change_request.published",
            change_request,
            actor,
            reason=change_request.title,
            change=change,
            version=version.number,
            effective_at=version.effective_at.isoformat(),
            **outcome,
            **_published_words(change),
        )
        if outcome["bypass"]:
            _audit(
                "version.bypass",
                change_request,
                actor,
                reason=bypass_reason or "",
                change=change,
                version=version.number,
                missing=missing,
            )
    first = published[change_request.change_list[0].line]
    overtaken(
        open_on_lines(list(published)).exclude(pk=change_request.pk),
        actor,
        f"Version {first.number} was published."
        if change_request.is_single
        else f"Change request #{change_request.pk} was published.",
    )
    return first


def _published_words(change: Change) -> dict:
    """What a published change did to its config's overrides, in words, for its event."""
    told = _override_words(change.config, change.base_version, change.value, change.overrides)
    return {"override_changes": told} if told else {}


def _publish_schema_change(
    change_request: ChangeRequest,
    actor,
    effective_at: datetime | None,
    bypass_reason: str | None,
    missing: list[str],
    outcome: dict[str, Any],
) -> None:
    """change_request_publish's part for a schema change: the schema version and every
    config's new version, with one event per namespace (a schema thousands of configs use
    would otherwise write thousands)."""
    schema_change = change_request.schema_change
    assert schema_change is not None
    why = schema_kind.moved(change_request, schema_change)
    if why:
        raise Conflict(f"{why} Rebase the schema change on what is there now.")
    earliest, in_the_way = schema_kind.earliest_instant(change_request)
    if earliest and (effective_at is None or effective_at < earliest):
        raise RuleViolation(
            "A scheduled version is in the way: "
            + "; ".join(in_the_way)
            + f". The change can take effect at {earliest:%Y-%m-%d %H:%M} UTC at the "
            "earliest: schedule it for then."
        )
    version, numbers = schema_kind.publish(
        change_request,
        schema_change,
        actor=actor,
        effective_at=effective_at,
        bypass_reason=bypass_reason or "",
    )
    change_request.status = Status.PUBLISHED
    _save(change_request, actor, "published")
    _audit(
        "change_request.published",
        change_request,
        actor,
        reason=change_request.title,
        schema_version=version.number,
        versions=numbers,
        **outcome,
    )
    if outcome["bypass"]:
        _audit(
            "version.bypass",
            change_request,
            actor,
            reason=bypass_reason or "",
            schema_version=version.number,
            versions=numbers,
            missing=missing,
        )
    # Open change requests of those configs, and other changes of this schema, are based on
    # versions now replaced (their configs and the schema are locked).
    overtaken(
        (
            open_on_configs(
                Change.objects.filter(change_request=change_request, config__isnull=False).values(
                    "config_id"
                )
            )
            | ChangeRequest.objects.filter(
                pk__in=Change.objects.filter(schema=schema_change.schema).values(
                    "change_request_id"
                )
            )
        ).exclude(pk=change_request.pk),
        actor,
        f"Change request #{change_request.pk} published schema {schema_change.schema.name} "
        f"version {version.number}.",
    )


@transaction.atomic
def version_restore(*, version: Version, actor, reason: str) -> ChangeRequest:
    """Propose `version`'s value again, as a change request on the newest version.

    History is never rewritten: the restore is reviewed and published like any other change
    and becomes a new version. `reason` (required) says why, for the reviewers and the audit
    log. Refuses a cancelled version (it never took effect, so there is nothing to go back
    to), a version whose value is already the live (or newest) one, and, through
    `change_request_open`, a value the config's schema no longer accepts.
    """
    config = Config.objects.select_related("namespace", "schema").get(pk=version.config_id)
    access.ensure_role(actor, config.namespace, Role.EDITOR, "restore a version")
    reason = _require_text(reason, "A reason for restoring this version")
    version = config.versions.get(pk=version.pk)
    env = environments.by_id(version.environment_id)
    if version.cancelled_at:
        raise RuleViolation(
            f"Version {version.number} was cancelled before it took effect, so there is no "
            "earlier state to go back to. To propose its value again, edit the config."
        )
    newest = newest_version(config, env)
    live = live_version(config, environment=env)
    if live and live.pk == version.pk:
        if newest is not None and newest.pk != version.pk:
            raise RuleViolation(
                f"Version {version.number} is live now; to keep it, cancel scheduled version "
                f"{newest.number} instead."
            )
        raise RuleViolation(
            f"Version {version.number} is already live: there is nothing to restore."
        )
    if (
        newest
        and newest.value_json == version.value_json
        and canonical_json(newest.overrides) == canonical_json(version.overrides)
    ):
        raise RuleViolation(
            f"Version {version.number} has the same value as version {newest.number}, the newest "
            "one: there is nothing to restore."
        )
    change_request = change_request_open(
        config=config,
        author=actor,
        value=version.value,
        overrides=version.overrides,
        title=f"Restore version {version.number}",
        description=reason,
        base_version=newest.number if newest else None,
        environment=env,
    )
    record(
        "version.restored",
        actor=actor,
        target=version,
        namespace=config.namespace.slug,
        config=config.key,
        reason=reason,
        details={
            "environment": env.name,  # version numbers are per environment
            "version": version.number,
            "change_request": change_request.pk,
            "base_version": newest.number if newest else None,
        },
    )
    return change_request
