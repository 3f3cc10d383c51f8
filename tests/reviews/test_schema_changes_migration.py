"""Upgrading to schema change requests that are change requests: every schema change request
filled in by the previous release becomes the change request of the same number, with its
state, title, author, its schema's change and one change per config it carried, and an
approval of the proposal as it stood still counts (a stale one still does not)."""

import hashlib
import io
import json

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction

from reviews.gate import gate_for
from tests.upgrades import upgrade

BEFORE = [("reviews", "0010_changes_ordered_by_their_change_request")]


def _old_hash(body, items) -> str:
    # The previous release's fingerprint of a schema change's proposal: the schema in its
    # author's order, then each item's (config, base, value) in order.
    digest = hashlib.sha256(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    for config_id, base_id, value in sorted(
        (config_id, base_id, json.dumps(value, sort_keys=True, separators=(",", ":")))
        for config_id, base_id, value in items
    ):
        digest.update(f"|{config_id}:{base_id}:".encode() + value.encode())
    return digest.hexdigest()


OLD_BODY = {
    "type": "object",
    "properties": {"team": {"type": "string"}},
    "required": ["team"],
}
# Keys in an order of their author's (which the form shows): the move keeps it.
NEW_BODY = {
    "type": "object",
    "required": ["team", "tier"],
    "properties": {"tier": {"type": "string", "default": "gold"}, "team": {"type": "string"}},
}


def test_every_schema_change_request_reads_the_same_after_the_upgrade(old_console):
    apps = old_console
    User = apps.get_model("auth", "User")
    alice = User.objects.create(username="alice", email="alice@example.com")
    bob = User.objects.create(username="bob", email="bob@example.com")
    dave = User.objects.create(username="dave", email="dave@example.com")
    namespace = apps.get_model("configs", "Namespace").objects.create(
        slug="ops", name="Ops", required_approvals=1
    )
    Membership = apps.get_model("configs", "Membership")
    Membership.objects.create(namespace_id=namespace.pk, user_id=alice.pk, role="admin")
    Membership.objects.create(namespace_id=namespace.pk, user_id=bob.pk, role="reviewer")
    Membership.objects.create(namespace_id=namespace.pk, user_id=dave.pk, role="reviewer")
    schema = apps.get_model("configs", "Schema").objects.create(name="teams", body=OLD_BODY)
    schema_v1 = apps.get_model("configs", "SchemaVersion").objects.create(
        schema_id=schema.pk, number=1, body=OLD_BODY, created_by_id=alice.pk
    )
    Config = apps.get_model("configs", "Config")
    Version = apps.get_model("configs", "Version")
    configs, versions = [], []
    for key in ("api", "web"):
        config = Config.objects.create(
            namespace_id=namespace.pk, key=key, name=key, schema_id=schema.pk
        )
        versions.append(
            Version.objects.create(
                config_id=config.pk,
                number=1,
                value={"team": key},
                value_json=json.dumps({"team": key}),
                effective_at="2026-01-01T00:00:00Z",
                published_at="2026-01-01T00:00:00Z",
                published_by_id=alice.pk,
            )
        )
        configs.append(config)
    Number = apps.get_model("reviews", "ChangeRequestNumber")
    SchemaChangeRequest = apps.get_model("reviews", "SchemaChangeRequest")
    SchemaChangeItem = apps.get_model("reviews", "SchemaChangeItem")
    SchemaReview = apps.get_model("reviews", "SchemaReview")

    # In review: api's value migrated by the default, web's given by its author.
    values = {"api": {"team": "api", "tier": "gold"}, "web": {"team": "web", "tier": "silver"}}
    rows = [(c.pk, v.pk, values[c.key]) for c, v in zip(configs, versions, strict=True)]
    current = _old_hash(NEW_BODY, rows)
    waiting = SchemaChangeRequest.objects.create(
        pk=Number.objects.create(kind="schema").pk,
        schema_id=schema.pk,
        base_version_id=schema_v1.pk,
        body=NEW_BODY,
        author_id=alice.pk,
        title="Every team has a tier",
        description="Tiers drive the paging policy.",
        status="approved",
        revision=2,
        proposal_hash=current,
    )
    for config, version in zip(configs, versions, strict=True):
        SchemaChangeItem.objects.create(
            change_request_id=waiting.pk,
            config_id=config.pk,
            base_version_id=version.pk,
            value=values[config.key],
            migrated=config.key == "api",
            problems=[],
        )
    SchemaReview.objects.create(
        change_request_id=waiting.pk,
        reviewer_id=bob.pk,
        verdict="approve",
        proposal_hash=current,
        comment="Fine",
    )
    # dave approved revision 1, whose values were other: that approval approves nothing now.
    SchemaReview.objects.create(
        change_request_id=waiting.pk,
        reviewer_id=dave.pk,
        verdict="approve",
        proposal_hash=_old_hash(NEW_BODY, [(c, v, {"team": "x"}) for c, v, _ in rows]),
    )
    # A draft whose value still has a problem to fix.
    problem = [{"path": "/tier", "message": "Tier is required."}]
    draft = SchemaChangeRequest.objects.create(
        pk=Number.objects.create(kind="schema").pk,
        schema_id=schema.pk,
        base_version_id=schema_v1.pk,
        body={**NEW_BODY, "properties": {**NEW_BODY["properties"], "tier": {"type": "string"}}},
        author_id=alice.pk,
        title="Tiers, by hand",
        status="draft",
        proposal_hash="draft",
    )
    SchemaChangeItem.objects.create(
        change_request_id=draft.pk,
        config_id=configs[0].pk,
        base_version_id=versions[0].pk,
        value={"team": "api"},
        problems=problem,
    )
    # The previous release recorded schema_change.* events: the chain keeps holding them.
    from audit.services import record

    with transaction.atomic():
        record(
            "schema_change.opened",
            actor=get_user_model().objects.get(pk=alice.pk),
            target=waiting,
            namespace="ops",
            reason=waiting.title,
            details={"schema": "teams"},
        )
    created_at = SchemaChangeRequest.objects.get(pk=waiting.pk).created_at

    upgrade()

    from reviews import services
    from reviews.models import Change, ChangeRequest

    assert "reviews_schemachangerequest" not in connection.introspection.table_names()
    after = ChangeRequest.objects.get(pk=waiting.pk)
    assert (after.status, after.title, after.description, after.author.username) == (
        "approved",
        "Every team has a tier",
        "Tiers drive the paging policy.",
        "alice",
    )
    assert (after.revision, after.created_at) == (2, created_at)
    schema_change = after.schema_change
    assert (schema_change.kind, schema_change.schema.name) == (Change.Kind.SCHEMA, "teams")
    assert schema_change.body == NEW_BODY
    assert list(schema_change.body) == list(NEW_BODY)  # its author's key order
    assert list(schema_change.body["properties"]) == ["tier", "team"]
    assert schema_change.schema_base_version.number == 1
    assert schema_change.published_schema_version is None
    assert [
        (c.kind, c.config.key, c.base_version.number, c.value, c.migrated, c.problems)
        for c in after.change_list
    ] == [
        ("config", "api", 1, values["api"], True, []),
        ("config", "web", 1, values["web"], False, []),
    ]
    # bob's approval of the proposal as it stood still counts; dave's stale one does not.
    gate = gate_for(after)
    assert [u.username for u in gate.approvers] == ["bob"]
    assert gate.satisfied
    assert after.reviews.get(reviewer__username="bob").comment == "Fine"

    moved_draft = ChangeRequest.objects.get(pk=draft.pk)
    assert (moved_draft.status, moved_draft.title) == ("draft", "Tiers, by hand")
    assert [(c.config.key, c.value, c.problems) for c in moved_draft.change_list] == [
        ("api", {"team": "api"}, problem)
    ]

    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "chain intact" in out.getvalue()

    # And it is published like any change request: the schema's version and both values.
    services.change_request_publish(
        change_request=after, actor=get_user_model().objects.get(pk=bob.pk)
    )
    after.refresh_from_db()
    assert after.status == "published"
    assert after.schema_change.published_schema_version.number == 2
    assert [c.published_version.number for c in after.change_list] == [2, 2]
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "chain intact" in out.getvalue()
