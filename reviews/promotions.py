"""Promotion: a change request that sets configs' values (and overrides) in a later environment
to their live ones in an earlier one. It is a set of config changes like any other, reviewed
under the target environment's policy (reviews/gate.py) and published, audited and announced
by the one change request lifecycle (reviews/services.py)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from configs import access, environments
from configs.drift import differences
from configs.environments import Env
from configs.models import Namespace, Role, canonical_json
from configs.selectors import newest_version
from reviews.models import ChangeRequest
from reviews.services import Proposed, change_request_open


def ensure_forwards(source: Env, target: Env) -> None:
    """Promotion goes from an environment to a later one, never back nor to itself."""
    order = environments.every()
    if order.index(source) < order.index(target):
        return
    if source == target:
        raise ValidationError(f"Promote from one environment to another: {source.label} is both.")
    raise ValidationError(
        f"{source.label} comes after {target.label}: promotion goes forwards only "
        f"({' → '.join(env.label for env in order)}). To change {target.label}, edit it."
    )


@transaction.atomic
def promotion_open(
    *,
    namespace: Namespace,
    source: Env,
    target: Env,
    author,
    title: str,
    description: str = "",
    keys: Sequence[str] | None = None,
) -> ChangeRequest:
    """Open a change request setting, in `target`, each config of `namespace` (or of `keys`)
    whose live value or overrides differ to its live ones in `source`, each based on the
    config's newest version in `target`. Configs that already match are left out; when none
    differ, nothing would change (ValidationError)."""
    access.ensure_role(author, namespace, Role.EDITOR, "promote changes")
    ensure_forwards(source, target)
    if keys is not None:
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise ValidationError("Choose at least one config to promote.")
        known = set(namespace.configs.filter(key__in=keys).values_list("key", flat=True))
        unknown = [key for key in keys if key not in known]
        if unknown:
            raise ValidationError(f"{', '.join(unknown)}: no such config in {namespace.slug}.")
    proposed = []
    for difference in differences(namespace=namespace, source=source, target=target, keys=keys):
        newest = newest_version(difference.config, target)
        live = difference.source
        if newest is None:
            continue  # no line of versions there yet (its first value is still in review)
        if newest.value_json == live.value_json and canonical_json(
            newest.overrides
        ) == canonical_json(live.overrides):
            continue  # already scheduled there: promoting would propose it again
        proposed.append(
            Proposed(
                difference.config,
                live.value,
                newest.number,
                list(live.overrides),
                target,
            )
        )
    if not proposed:
        what = ", ".join(keys) if keys else f"every config of {namespace.slug}"
        raise ValidationError(
            f"Nothing would change: {target.label} already has {source.label}'s values of {what}."
        )
    return change_request_open(
        author=author, title=title, description=description, changes=proposed
    )
