"""Review policy per environment: the one place that says which setting applies to a config's
change in an environment.

Each field is resolved on its own, first set wins: the config's policy in that environment, the
namespace's policy in that environment, the config's own setting, the namespace's own setting.
`bypass_allowed` has no setting outside environments: where no policy says, bypass is allowed
(to those with the right). Written as SQL, so the gate reads the policies of thousands of
configs in its one aggregate query; `of()` reads one config's the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import BooleanField, F, Field, IntegerField, OuterRef, Subquery, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce

from audit.services import record
from configs import access
from configs.environments import Env
from configs.models import Config, Environment, Namespace, ReviewPolicy, Role

FIELDS = ("required_approvals", "owner_approval_required", "bypass_allowed")

# What a field falls back to outside the environment's policies: the config's own setting,
# then the namespace's (paths from the config); bypass has neither (allowed unless a policy
# forbids it).
_OWN: dict[str, tuple[str, ...]] = {
    "required_approvals": ("required_approvals", "namespace__required_approvals"),
    "owner_approval_required": ("owner_approval_required", "namespace__owner_approval_required"),
    "bypass_allowed": (),
}
_TYPES: dict[str, Field] = {
    "required_approvals": IntegerField(),
    "owner_approval_required": BooleanField(),
    "bypass_allowed": BooleanField(),
}


def in_environment(field: str, environment_id: int, config: str = "pk") -> Expression:
    """`field` of the policy that applies to a config's change in environment
    `environment_id`, as an expression over Config rows (`config`: the path to the config's
    id from the rows queried; "pk" on Config itself)."""
    prefix = "" if config == "pk" else config.removesuffix("_id").removesuffix("__pk") + "__"
    of_config = ReviewPolicy.objects.filter(
        config_id=OuterRef(config), environment_id=environment_id
    ).values(field)[:1]
    of_namespace = ReviewPolicy.objects.filter(
        namespace_id=OuterRef(f"{prefix}namespace_id"),
        config__isnull=True,
        environment_id=environment_id,
    ).values(field)[:1]
    own: list[Expression | F] = [F(f"{prefix}{path}") for path in _OWN[field]] or [Value(True)]
    return Coalesce(Subquery(of_config), Subquery(of_namespace), *own, output_field=_TYPES[field])


@dataclass(frozen=True)
class Policy:
    """The review policy a change of one config in one environment passes."""

    required_approvals: int
    owner_approval_required: bool
    bypass_allowed: bool

    @property
    def needs_review(self) -> bool:
        """Whether a change must be approved before it is published (bypass aside)."""
        return self.required_approvals > 0 or self.owner_approval_required

    @property
    def in_words(self) -> str:
        n = self.required_approvals
        words = f"{n} approval{'s' if n != 1 else ''} needed" if n else "No approval needed"
        if self.owner_approval_required:
            words += ", including an owner"
        if not self.bypass_allowed:
            words += "; no bypass"
        return words


def strictest(config: Config, envs: Sequence[Env]) -> Policy:
    """The strictest of the policies a change of `config` in each of `envs` passes (one
    query): a change that goes to several environments passes each of their policies."""
    names = {f"p_{field}_{env.id}": (field, env.id) for field in FIELDS for env in envs}
    row = (
        Config.objects.filter(pk=config.pk)
        .annotate(
            **{name: in_environment(field, env_id) for name, (field, env_id) in names.items()}
        )
        .values(*names)
        .get()
    )

    def each(field: str) -> list:
        return [row[name] for name, (f, _) in names.items() if f == field]

    return Policy(
        required_approvals=max(int(n) for n in each("required_approvals")),
        owner_approval_required=any(each("owner_approval_required")),
        bypass_allowed=all(each("bypass_allowed")),
    )


def of(config: Config, environment: Env) -> Policy:
    """The policy a change of `config` in `environment` passes (one query)."""
    return strictest(config, [environment])


@transaction.atomic
def policy_set(
    *,
    namespace: Namespace,
    environment: Environment,
    actor,
    config: Config | None = None,
    reason: str = "",
    **settings,
) -> ReviewPolicy | None:
    """Set the namespace's (or, with `config`, the config's) review policy in `environment`
    (admins only). A field given as None falls back (see the module); a policy left with no
    field set is removed. One audit event, as for the namespace's own policy."""
    unknown = sorted(set(settings) - set(FIELDS))
    if unknown:
        raise TypeError(f"policy_set() got unknown settings: {', '.join(unknown)}")
    if actor is not None:  # no actor: the system (seed_demo, migrations)
        access.ensure_role(actor, namespace, Role.ADMIN, "change the namespace's review policy")
    if config is not None and config.namespace_id != namespace.pk:
        raise ValueError("The config is not in that namespace.")
    policy = (
        ReviewPolicy.objects.select_for_update()
        .filter(namespace=namespace, environment=environment, config=config)
        .first()
    ) or ReviewPolicy(namespace=namespace, environment=environment, config=config)
    before = {field: getattr(policy, field) for field in FIELDS}
    for field, value in settings.items():
        setattr(policy, field, value)
    policy.full_clean(validate_constraints=False)
    diff = {
        field: {"before": before[field], "after": getattr(policy, field)}
        for field in FIELDS
        if getattr(policy, field) != before[field]
    }
    if not diff:
        return policy if policy.pk else None
    policy._history_user = actor  # type: ignore[attr-defined]
    policy._change_reason = reason[:100] or None  # type: ignore[attr-defined]
    kept: ReviewPolicy | None = policy
    if all(getattr(policy, field) is None for field in FIELDS):
        if policy.pk:
            policy.delete()
        kept = None
    else:
        policy.save()
    record(
        "namespace.policy_changed",
        actor=actor,
        target=namespace,
        namespace=namespace.slug,
        config=config.key if config is not None else "",
        reason=reason,
        details={"environment": environment.name, "changes": diff},
    )
    return kept
