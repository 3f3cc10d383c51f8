"""Upgrading to change requests as sets of changes: every change request filled in by the
previous release keeps its number, config, base, value, published version, state, reviews and
comments, and an approval of its exact value still counts."""

import hashlib
import json

from reviews.gate import gate_for
from tests.upgrades import upgrade

BEFORE = [("reviews", "0007_schema_change_body_keeps_key_order")]


def _hash(value) -> str:
    # The previous release's fingerprint of a proposed value.
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def test_every_change_request_reads_the_same_after_the_upgrade(old_console):
    apps = old_console
    User = apps.get_model("auth", "User")
    alice, bob = User.objects.create(username="alice"), User.objects.create(username="bob")
    namespace = apps.get_model("configs", "Namespace").objects.create(
        slug="ops", name="Ops", required_approvals=1
    )
    config = apps.get_model("configs", "Config").objects.create(
        namespace_id=namespace.pk, key="limits", name="Limits"
    )
    Version = apps.get_model("configs", "Version")
    v1 = Version.objects.create(
        config_id=config.pk,
        number=1,
        value={"n": 0},
        value_json='{"n":0}',
        effective_at="2026-01-01T00:00:00Z",
        published_at="2026-01-01T00:00:00Z",
        published_by_id=bob.pk,
    )
    v2 = Version.objects.create(
        config_id=config.pk,
        number=2,
        value={"n": 1},
        value_json='{"n":1}',
        effective_at="2026-01-02T00:00:00Z",
        published_at="2026-01-02T00:00:00Z",
        published_by_id=bob.pk,
    )
    ChangeRequest = apps.get_model("reviews", "ChangeRequest")
    Number = apps.get_model("reviews", "ChangeRequestNumber")
    Review = apps.get_model("reviews", "Review")
    Comment = apps.get_model("reviews", "Comment")

    def old_change_request(value, status, base, published=None, title="t"):
        pk = Number.objects.create(kind="config").pk
        return ChangeRequest.objects.create(
            pk=pk,
            config_id=config.pk,
            author_id=alice.pk,
            base_version_id=base.pk if base else None,
            title=title,
            value=value,
            value_hash=_hash(value),
            status=status,
            published_version_id=published.pk if published else None,
        )

    published = old_change_request({"n": 1}, "published", v1, published=v2, title="Publish 1")
    waiting = old_change_request({"n": 2}, "approved", v2, title="Raise to 2")
    stale = old_change_request({"n": 3}, "in_review", v2, title="Raise to 3")
    for cr in (published, waiting):
        Review.objects.create(
            change_request_id=cr.pk,
            reviewer_id=bob.pk,
            verdict="approve",
            value_hash=cr.value_hash,
            revision=1,
        )
    # An approval of an earlier value of `stale` approves nothing now.
    Review.objects.create(
        change_request_id=stale.pk,
        reviewer_id=bob.pk,
        verdict="approve",
        value_hash=_hash({"n": 99}),
        revision=1,
    )
    Comment.objects.create(change_request_id=waiting.pk, author_id=bob.pk, body="Fine by me")
    Membership = apps.get_model("configs", "Membership")
    Membership.objects.create(namespace_id=namespace.pk, user_id=bob.pk, role="reviewer")
    Membership.objects.create(namespace_id=namespace.pk, user_id=alice.pk, role="editor")
    # The previous release kept each revision's value in the change request's history.
    apps.get_model("reviews", "HistoricalChangeRequest").objects.create(
        id=waiting.pk,
        config_id=config.pk,
        author_id=alice.pk,
        base_version_id=v2.pk,
        title=waiting.title,
        value={"n": 2},
        value_hash=waiting.value_hash,
        revision=1,
        status="in_review",
        created_at=waiting.created_at,
        updated_at=waiting.updated_at,
        history_date=waiting.created_at,
        history_type="+",
        history_user_id=alice.pk,
    )
    ids = (published.pk, waiting.pk, stale.pk)

    upgrade()

    from reviews.models import ChangeRequest as Now

    after = {cr.pk: cr for cr in Now.objects.filter(pk__in=ids)}
    assert after[published.pk].status == "published"
    assert after[published.pk].published_version.number == 2
    assert after[published.pk].base_version.number == 1
    assert [(c.kind, c.config.key, c.value) for c in after[waiting.pk].change_list] == [
        ("config", "limits", {"n": 2})
    ]
    assert after[waiting.pk].base_version.number == 2
    assert after[waiting.pk].comments.get().body == "Fine by me"
    assert [u.username for u in gate_for(after[waiting.pk]).approvers] == ["bob"]
    assert gate_for(after[waiting.pk]).satisfied
    assert gate_for(after[stale.pk]).approvers == []
    # What each revision proposed is still in the history, now of the change.
    from reviews.models import Change

    kept = Change.history.filter(change_request_id=waiting.pk).values_list("value", flat=True)
    assert list(kept) == [{"n": 2}]
