"""Every schema change request becomes a change request with the same number: its schema's
change and each config's new value become its changes, its reviews become reviews. Their numbers
were already shared (reviews.ChangeRequestNumber), so no id moves, and audit events, e-mails and
links that name a number still name the same change."""

import hashlib
import json

from django.db import migrations


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_text(body) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def changes_hash(body, rows) -> str:
    # reviews.models.changes_hash at this release, kept here so this migration does the same
    # whatever that function becomes: the schema, then each (config, base, value) in order.
    # It is the schema change requests' own hash formula, so their approvals stand as they were.
    digest = hashlib.sha256(schema_text(body).encode())
    for config_id, base_id, value in sorted(rows):
        digest.update(f"|{config_id}:{base_id}:".encode() + value.encode())
    return digest.hexdigest()


def move(apps, schema_editor):
    SchemaChangeRequest = apps.get_model("reviews", "SchemaChangeRequest")
    SchemaChangeItem = apps.get_model("reviews", "SchemaChangeItem")
    SchemaReview = apps.get_model("reviews", "SchemaReview")
    ChangeRequest = apps.get_model("reviews", "ChangeRequest")
    Change = apps.get_model("reviews", "Change")
    Review = apps.get_model("reviews", "Review")
    for old in SchemaChangeRequest.objects.order_by("pk").iterator(chunk_size=200):
        ChangeRequest.objects.create(
            pk=old.pk,
            author_id=old.author_id,
            title=old.title,
            description=old.description,
            status=old.status,
            revision=old.revision,
            proposal_hash=old.proposal_hash,
        )
        # Its dates as they were (auto_now and auto_now_add stamp a created row with now).
        ChangeRequest.objects.filter(pk=old.pk).update(
            created_at=old.created_at, updated_at=old.updated_at
        )
        Change.objects.create(
            change_request_id=old.pk,
            kind="schema",
            schema_id=old.schema_id,
            schema_base_version_id=old.base_version_id,
            body=old.body,
            published_schema_version_id=old.published_version_id,
        )
        rows = []
        batch = []
        for item in SchemaChangeItem.objects.filter(change_request_id=old.pk).iterator(
            chunk_size=2000
        ):
            rows.append((item.config_id, item.base_version_id, canonical_json(item.value)))
            batch.append(
                Change(
                    change_request_id=old.pk,
                    kind="config",
                    config_id=item.config_id,
                    base_version_id=item.base_version_id,
                    value=item.value,
                    migrated=item.migrated,
                    problems=item.problems,
                    published_version_id=item.published_version_id,
                )
            )
            if len(batch) >= 2000:
                Change.objects.bulk_create(batch)
                batch = []
        Change.objects.bulk_create(batch)
        new_hash = changes_hash(old.body, rows)
        if new_hash != old.proposal_hash:
            ChangeRequest.objects.filter(pk=old.pk).update(proposal_hash=new_hash)
        for review in SchemaReview.objects.filter(change_request_id=old.pk).order_by("pk"):
            current = review.proposal_hash == old.proposal_hash
            moved = Review.objects.create(
                change_request_id=old.pk,
                reviewer_id=review.reviewer_id,
                verdict=review.verdict,
                # An approval of the proposal as it stands stays one; an older one stays stale.
                proposal_hash=new_hash if current else review.proposal_hash,
                # Schema reviews did not keep the revision they saw: the current one, or
                # (stale) one before it.
                revision=old.revision if current else max(1, old.revision - 1),
                comment=review.comment,
                dismissed_at=review.dismissed_at,
            )
            Review.objects.filter(pk=moved.pk).update(created_at=review.created_at)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0012_schema_changes_are_changes"),
    ]

    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
