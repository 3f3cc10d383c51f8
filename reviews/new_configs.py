"""New configs: version 1 passes the namespace's review policy like any other change.

Here rather than in configs, because creating a config ends in a change request (reviews build
on configs, never the other way round). The console's "New config", the API and /admin/ all
come here, so there is no path to a config without this one's version 1 rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from configs import environments, policies
from configs import services as config_services
from configs.models import Config, Namespace, Schema
from configs.validation import InvalidSchema, check_schema
from reviews.models import ChangeRequest
from reviews.services import Proposed, change_request_open


@dataclass
class NewConfig:
    config: Config
    change_request: ChangeRequest

    @property
    def version(self):
        """Version 1 when it was published at once (no approval needed), else None."""
        return self.change_request.published_version


@transaction.atomic
def config_propose(
    *,
    namespace: Namespace,
    key: str,
    name: str,
    value,
    actor,
    title: str,
    description: str = "",
    schema: Schema | None = None,
    new_schema: dict | None = None,
    new_schema_name: str = "",
    owners=None,
    overrides: list | None = None,
) -> NewConfig:
    """Create a config and propose `value` as its version 1 (editors and up).

    Published at once where the namespace needs no approval; otherwise the change request is
    in review and the config has no live version (pipelines get 404) until it is published.
    `new_schema` (a schema body, e.g. inferred from an example) is created with the config, by
    its creator, under `new_schema_name` (the key by default). `overrides` (none when left out)
    go with the value into version 1, in every environment. Everything or nothing."""
    if schema is not None and new_schema is not None:
        raise ValidationError("Pick an existing schema or make a new one, not both.")
    if new_schema is not None:
        try:
            check_schema(new_schema)
        except InvalidSchema as exc:
            raise ValidationError(f"The schema cannot be used: {exc.message}") from exc
    if new_schema is not None:
        schema_name = new_schema_name or key
        if Schema.objects.filter(name=schema_name).exists():
            raise ValidationError(
                f"A schema named {schema_name} already exists; pick it, or name the new one "
                "differently."
            )
        schema = config_services.schema_create(
            name=schema_name,
            body=new_schema,
            actor=actor,
            title=new_schema.get("title") or name,
            reason=f"Made with {namespace.slug}/{key}",
            authorised=True,  # a config's creator may make the schema made for it
            namespace=namespace.slug,
        )
    # After the schema, so the config's "created" event names it. config_add checks the
    # creator's role; refused, the transaction takes the new schema back with it.
    config = config_services.config_add(
        namespace=namespace,
        key=key,
        name=name,
        actor=actor,
        description=description,
        schema=schema,
        owners=owners,
    )
    change_request = change_request_open(
        config=config,
        author=actor,
        value=value,
        overrides=overrides,
        title=title,
        description=description,
        base_version=None,
        # Its first value is published in every environment: it passes each one's policy.
        publish=not policies.strictest(config, environments.every()).needs_review,
    )
    return NewConfig(config=config, change_request=change_request)


@dataclass(frozen=True)
class NewInSet:
    """A config to create with its first value inside a set of changes."""

    namespace: Namespace
    key: str
    name: str
    value: Any
    schema: Schema | None = None
    owners: Sequence | None = None
    # Its first overrides, with the value (None: none).
    overrides: list | None = None


@transaction.atomic
def set_propose(
    *,
    author,
    title: str,
    description: str = "",
    draft: bool = False,
    changes: Sequence[Proposed] = (),
    new: Sequence[NewInSet] = (),
) -> ChangeRequest:
    """Propose a set that also creates configs (each with its first value, reviewed with the
    rest): the configs are added, with no version, and their values join the set. Everything
    or nothing: a refused set takes its new configs back with it."""
    created = [
        Proposed(
            config_services.config_add(
                namespace=item.namespace,
                key=item.key,
                name=item.name,
                actor=author,
                schema=item.schema,
                owners=item.owners,
            ),
            item.value,
            None,
            item.overrides,
        )
        for item in new
    ]
    return change_request_open(
        author=author,
        title=title,
        description=description,
        changes=[*changes, *created],
        draft=draft,
    )
