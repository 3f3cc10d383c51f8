"""The demo: two namespaces, three schemas, four configs (one with an override for one
customer) and four people; development needs no approval, and staging's company-timezones has
one company more than production's (so drift and promotion show)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from configs import environments, services
from configs.models import Config, Environment, Membership, Namespace, ReviewPolicy, Role, Schema
from configs.selectors import newest_version

# The demo files ship inside the project: a fresh clone has no shared/ folder.
DEMO_DIR = Path(__file__).parent / "demo"

NAMESPACES = [
    # (slug, name, required approvals)
    ("data-pipelines", "Data pipelines", 1),
    ("sales-ops", "Sales ops", 0),
]

# username: (role in every demo namespace, demo password)
PEOPLE = {
    "alice": (Role.EDITOR, "alice-demo-2026"),
    "bob": (Role.REVIEWER, "bob-demo-2026"),
    "carol": (Role.ADMIN, "carol-demo-2026"),
    "dave": (Role.VIEWER, "dave-demo-2026"),
}

CONFIGS = [
    # (namespace, key, schema name or None, owners)
    ("data-pipelines", "company-timezones", "company-timezones", ["bob"]),
    ("data-pipelines", "warehouse-connections", "warehouse-connections", ["bob"]),
    ("sales-ops", "custom-metrics", "custom-metrics", ["carol"]),
    ("sales-ops", "legacy-fields", None, ["carol"]),
]

# Development needs no approval in any demo namespace (the namespaces' own policies hold in
# staging and production).
NO_REVIEW_IN = "development"

# What staging tries before production: one company more in company-timezones.
STAGING_TRY = {
    "namespace": "data-pipelines",
    "key": "company-timezones",
    "environment": "staging",
    "company": {"company_id": "umbrella", "timezone": "Europe/London"},
    "title": "Try Umbrella in London time in staging first",
}

LEGACY_FIELDS = (
    "Legacy fields",
    "Old per-company field names kept for historical backfills. Free-form JSON (no schema).",
)


def _load(name: str):
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


def _user(username: str, password: str):
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    if user is None:
        return users.objects.create_user(username, f"{username}@example.com", password)
    if not user.check_password(password):  # re-running the demo restores the demo logins
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _overrides(key: str) -> list:
    """A config's demo overrides (custom-metrics: one customer's own metric), or none."""
    path = DEMO_DIR / f"{key}.overrides.json"
    return _load(path.name) if path.exists() else []


@transaction.atomic
def seed() -> dict[str, str]:
    """Create whatever part of the demo is missing; returns {username: password}."""
    users = {username: _user(username, password) for username, (_, password) in PEOPLE.items()}
    carol = users["carol"]

    namespaces = {}
    for slug, name, required_approvals in NAMESPACES:
        namespace = Namespace.objects.filter(slug=slug).first()
        if namespace is None:
            namespace = services.namespace_create(
                slug=slug, name=name, actor=None, required_approvals=required_approvals
            )
        namespaces[slug] = namespace
        roles = dict(
            Membership.objects.filter(namespace=namespace).values_list("user__username", "role")
        )
        for username, (role, _) in PEOPLE.items():
            if roles.get(username) != role:
                services.membership_set(
                    namespace=namespace, user=users[username], role=role, actor=None
                )

    schemas = {}
    for path in sorted(DEMO_DIR.glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        schema = Schema.objects.filter(name=name).first()
        if schema is None:
            schema = services.schema_create(name=name, body=_load(path.name), actor=None)
        schemas[name] = schema

    for slug, key, schema_name, owners in CONFIGS:
        namespace = namespaces[slug]
        if Config.objects.filter(namespace=namespace, key=key).exists():
            continue
        schema = schemas[schema_name] if schema_name else None
        name, description = (schema.title, schema.description) if schema else LEGACY_FIELDS
        services.config_create(
            namespace=namespace,
            key=key,
            name=name or key,
            value=_load(f"{key}.value.json"),
            actor=carol,
            description=description,
            schema=schema,
            owners=[users[username] for username in owners],
            reason="Demo data",
            overrides=_overrides(key),
        )

    # Written as the demo's data (as its versions 1 are), not as an admin's audited change.
    no_review = Environment.objects.filter(name=NO_REVIEW_IN).first()
    for namespace in namespaces.values():
        if no_review is not None:
            ReviewPolicy.objects.get_or_create(
                namespace=namespace,
                environment=no_review,
                config=None,
                defaults={"required_approvals": 0, "owner_approval_required": False},
            )

    _try_in_staging(users)

    return {username: password for username, (_, password) in PEOPLE.items()}


def _try_in_staging(users: dict) -> None:
    """Staging's company-timezones gets one company more than production's, as its version 2
    (published by carol, as the demo's versions 1 are); once."""
    env = next((e for e in environments.every() if e.name == STAGING_TRY["environment"]), None)
    config = Config.objects.filter(
        namespace__slug=STAGING_TRY["namespace"], key=STAGING_TRY["key"]
    ).first()
    if env is None or config is None:
        return
    base = newest_version(config, env)
    if base is None or base.number > 1:
        return
    value = json.loads(json.dumps(base.value))
    value["companies"].append(STAGING_TRY["company"])
    services.version_publish(
        config=config,
        value=value,
        base_number=base.number,
        actor=users["carol"],
        reason=f"Demo data: {STAGING_TRY['title']}",
        environment=env,
    )
