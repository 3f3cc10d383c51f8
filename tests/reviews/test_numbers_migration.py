"""Upgrading a console that already holds both kinds of change request: schema change requests,
numbered apart until then, get new numbers after every config change request, keeping their
items and reviews, and new change requests of either kind come after all of them."""

from tests.upgrades import migrate_to, upgrade

BEFORE = [("reviews", "0004_schema_change_requests")]


def _change_requests(apps, user, config, version, schema, schema_version):
    ChangeRequest = apps.get_model("reviews", "ChangeRequest")
    SchemaChangeRequest = apps.get_model("reviews", "SchemaChangeRequest")
    config_changes = [
        ChangeRequest.objects.create(
            config_id=config.pk,
            author_id=user.pk,
            base_version_id=version.pk,
            title=f"Change {n}",
            value={"n": n},
            value_hash=str(n),
        )
        for n in range(3)
    ]
    # The same ids as two config change requests, as two tables counting apart gave them.
    schema_changes = [
        SchemaChangeRequest.objects.create(
            pk=config_changes[n].pk,
            schema_id=schema.pk,
            base_version_id=schema_version.pk,
            body={"type": "object"},
            author_id=user.pk,
            title=f"Schema change {n}",
            proposal_hash=str(n),
        )
        for n in range(2)
    ]
    return config_changes, schema_changes


def test_schema_change_requests_are_renumbered_after_config_change_requests(old_console):
    apps = old_console
    user = apps.get_model("auth", "User").objects.create(username="carol")
    namespace = apps.get_model("configs", "Namespace").objects.create(slug="ops", name="Ops")
    schema = apps.get_model("configs", "Schema").objects.create(name="s", body={"type": "object"})
    schema_version = apps.get_model("configs", "SchemaVersion").objects.create(
        schema_id=schema.pk, number=1, body={"type": "object"}, created_by_id=user.pk
    )
    config = apps.get_model("configs", "Config").objects.create(
        namespace_id=namespace.pk, key="c", name="C", schema_id=schema.pk
    )
    version = apps.get_model("configs", "Version").objects.create(
        config_id=config.pk,
        number=1,
        value={},
        value_json="{}",
        effective_at="2026-01-01T00:00Z",
        published_at="2026-01-01T00:00Z",
        published_by_id=user.pk,
    )
    config_changes, schema_changes = _change_requests(
        apps, user, config, version, schema, schema_version
    )
    apps.get_model("reviews", "SchemaChangeItem").objects.create(
        change_request_id=schema_changes[1].pk,
        config_id=config.pk,
        base_version_id=version.pk,
        value={"owner": "data"},
    )
    apps.get_model("reviews", "SchemaReview").objects.create(
        change_request_id=schema_changes[1].pk,
        reviewer_id=user.pk,
        verdict="approve",
        proposal_hash="1",
    )
    assert {c.pk for c in schema_changes} <= {c.pk for c in config_changes}  # they collide

    apps = migrate_to([("reviews", "0005_shared_change_request_numbers")])
    ChangeRequest = apps.get_model("reviews", "ChangeRequest")
    ChangeRequestNumber = apps.get_model("reviews", "ChangeRequestNumber")
    SchemaChangeRequest = apps.get_model("reviews", "SchemaChangeRequest")

    config_ids = sorted(ChangeRequest.objects.values_list("pk", flat=True))
    renumbered = list(SchemaChangeRequest.objects.order_by("pk"))
    assert config_ids == [c.pk for c in config_changes]
    assert [c.title for c in renumbered] == ["Schema change 0", "Schema change 1"]
    assert min(c.pk for c in renumbered) > max(config_ids)
    items = apps.get_model("reviews", "SchemaChangeItem").objects
    reviews = apps.get_model("reviews", "SchemaReview").objects
    assert items.get(change_request_id=renumbered[1].pk).value == {"owner": "data"}
    assert reviews.get(change_request_id=renumbered[1].pk).verdict == "approve"
    assert ChangeRequestNumber.objects.count() == 5
    # The next number, of either kind, comes after every one taken.
    assert ChangeRequestNumber.objects.create(kind="config").pk > renumbered[1].pk

    # On to the newest release: each schema change request is now the change request of its
    # new number, with its schema's change, its config's change and its review.
    upgrade()
    from reviews.models import ChangeRequest as Now

    assert Now.objects.count() == 5
    moved = {cr.pk: cr for cr in Now.objects.filter(pk__in=[c.pk for c in renumbered])}
    assert [moved[c.pk].title for c in renumbered] == ["Schema change 0", "Schema change 1"]
    for cr in moved.values():
        assert (cr.schema_change.kind, cr.schema_change.schema.name) == ("schema", "s")
        assert cr.schema_change.body == {"type": "object"}
    assert moved[renumbered[0].pk].change_list == []
    assert [(c.kind, c.config.key, c.value) for c in moved[renumbered[1].pk].change_list] == [
        ("config", "c", {"owner": "data"})
    ]
    assert moved[renumbered[1].pk].reviews.get().verdict == "approve"
    # The config change requests kept their numbers and are not schema changes.
    assert all(
        cr.schema_change is None for cr in Now.objects.filter(pk__in=[c.pk for c in config_changes])
    )
