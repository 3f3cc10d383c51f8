"""Changes to the installation's environments: add, rename, reorder. Administrators of the
installation (superusers) only; one function a change, one transaction, audited.

Everything refers to an environment by its id (versions, tokens, changes, policies, feed
events), so a rename changes what people read and what reads name, never which values they get.
Environments are never removed: every config has its line of versions in each.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.services import record
from common.after_commit import after_commit
from common.bulk import insert_all
from common.errors import Conflict, RuleViolation
from configs import environments
from configs.models import Config, Environment, Version
from configs.services._common import _changed, _unknown, _with_history_user
from configs.signals import versions_published

ENVIRONMENT_DETAILS = ("name", "title")


def _ensure_installation_admin(actor, doing: str) -> None:
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(f"Only administrators of the installation may {doing}.")


def _ensure_name_free(name: str, but: int | None = None) -> None:
    taken = Environment.objects.filter(name=name)
    if but is not None:
        taken = taken.exclude(pk=but)
    if taken.exists():
        raise Conflict(
            f"There is already an environment called “{name}”: choose another name "
            "(an environment's name is how reads and tokens pick it)."
        )


def _locked_order() -> list[Environment]:
    """Every environment, in promotion order, locked until the transaction ends: two admins
    reordering at once do not interleave their positions."""
    return list(Environment.objects.select_for_update().order_by("position", "id"))


def _renumber(order: list[Environment]) -> None:
    """Positions 0, 1, 2 … in `order` (only the rows whose position changes are written)."""
    moved = []
    for position, environment in enumerate(order):
        if environment.position != position:
            environment.position = position
            moved.append(environment)
    if moved:
        Environment.objects.bulk_update(moved, ["position"])
    # Bulk updates send no post_save: forget the remembered order here (other servers within
    # environments.FRESH_FOR).
    environments.forget()
    after_commit(environments.forget, what="Forgetting the environments' order")


def _copy_live_values(*, into: Environment, source: Environment, actor, reason: str) -> int:
    """Version 1 of every config in `into`: a copy of its live version in `source` (value,
    overrides and the schema version it was checked against), or of its newest when none is live
    yet (only scheduled), as the upgrade to environments did, so every config has a value in
    every environment; taking effect now. Returns how many. A copy of what is already published
    is not checked again: adding an environment must not fail on an old value a later schema
    would word differently."""
    now = timezone.now()
    in_source = Version.objects.filter(config=OuterRef("pk"), environment_id=source.pk)
    live = in_source.live_at(now).values("pk")[:1]
    newest = in_source.active().order_by("-number").values("pk")[:1]
    live_ids = Config.objects.annotate(live_id=Coalesce(Subquery(live), Subquery(newest))).filter(
        live_id__isnull=False
    )
    copies = [
        Version(
            config_id=version.config_id,
            environment_id=into.pk,
            number=1,
            value=version.value,
            value_json=version.value_json,
            overrides=version.overrides,
            effective_at=now,
            published_at=now,
            published_by=actor,
            reason=reason,
            schema_id=version.schema_id,
            schema_version_id=version.schema_version_id,
        )
        for version in Version.objects.filter(pk__in=live_ids.values("live_id")).order_by(
            "config_id"
        )
    ]
    created = insert_all(copies) if copies else []
    # Bulk inserts send no post_save: the change feed and webhooks hear of them from here.
    versions_published.send(sender=Version, versions=created)
    return len(created)


@transaction.atomic
def environment_add(*, name: str, actor, title: str = "", reason: str = "") -> Environment:
    """A new environment, placed just before the default (last) one, so that reads naming no
    environment keep reading the same values; every config starts there with a version 1
    equal to its live value in the default environment."""
    _ensure_installation_admin(actor, "add environments")
    order = _locked_order()
    _ensure_name_free(name)
    default = order[-1]
    environment = _with_history_user(
        Environment(name=name, title=title, position=default.position), actor, reason
    )
    environment.full_clean()
    environment.save()
    _renumber([*order[:-1], environment, default])
    copied = _copy_live_values(
        into=environment,
        source=default,
        actor=actor,
        reason=reason or f"Environment {environment.label} added: starts equal to {default.label}",
    )
    record(
        "environment.added",
        actor=actor,
        target=environment,
        reason=reason,
        details={
            "name": environment.name,
            "title": environment.title,
            "position": environment.position,
            "order": [one.name for one in (*order[:-1], environment, default)],
            "starts_equal_to": default.name,
            "configs": copied,
        },
    )
    return environment


@transaction.atomic
def environment_update(
    *, environment: Environment, actor, reason: str = "", **changes
) -> Environment:
    """Rename an environment (its `name`, which reads and tokens use, or its `title`, which
    pages show). What refers to it keeps referring to it: everything holds its id."""
    _unknown(changes, ENVIRONMENT_DETAILS, "environment_update")
    _ensure_installation_admin(actor, "rename environments")
    _locked_order()
    environment = Environment.objects.get(pk=environment.pk)
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        _ensure_name_free(changes["name"], but=environment.pk)
    diff = _changed(environment, changes)
    if not diff:
        return environment
    _with_history_user(environment, actor, reason)
    environment.save()
    record(
        "environment.changed",
        actor=actor,
        target=environment,
        reason=reason,
        details={"name": environment.name, "changes": diff},
    )
    return environment


def environment_remove(*, environment: Environment, actor) -> None:
    """Refused, always: every config has its line of versions in each environment, and tokens,
    change requests and history name it. Renaming is what an admin wants instead."""
    _ensure_installation_admin(actor, "remove environments")
    raise RuleViolation(
        f"Environments cannot be removed: every config has its versions in {environment.label}, "
        "and tokens, change requests and history refer to it. Rename it instead, or move it."
    )


@transaction.atomic
def environment_move(
    *, environment: Environment, actor, later: bool, reason: str = ""
) -> Environment:
    """Move an environment one place later (`later`) or earlier in promotion order. The last
    one is the default: moving another there makes it what reads naming no environment read."""
    _ensure_installation_admin(actor, "reorder environments")
    order = _locked_order()
    index = next((i for i, one in enumerate(order) if one.pk == environment.pk), None)
    if index is None:
        raise Environment.DoesNotExist(f"No environment with id {environment.pk}.")
    moved = order[index]
    target = index + 1 if later else index - 1
    if not 0 <= target < len(order):
        raise RuleViolation(
            f"{moved.label} is already {'last' if later else 'first'} in promotion order."
        )
    default_before = order[-1]
    order[index], order[target] = order[target], order[index]
    _renumber(order)
    details = {
        "name": moved.name,
        "from": index,
        "to": target,
        "order": [one.name for one in order],
    }
    if order[-1].pk != default_before.pk:
        details["default"] = {"before": default_before.name, "after": order[-1].name}
    record("environment.moved", actor=actor, target=moved, reason=reason, details=details)
    return moved
