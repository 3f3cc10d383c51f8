"""Two servers acting on one config at the same moment: no update is lost, no approval misplaced.

These need real row locks and concurrent writers, so they run on PostgreSQL only (CI runs them
with DATABASE_URL set); on SQLite, which serializes writers, they are reported as skipped.
"""

import copy
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from common.errors import Conflict
from configs.models import Config
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from reviews import services
from reviews.gate import gate_for
from reviews.models import ChangeRequest, Review

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="races need PostgreSQL row locks; SQLite serializes writers "
        "(run with DATABASE_URL=postgres://…)",
    ),
]

ROUNDS = 40


def user(username):
    return get_user_model().objects.get(username=username)


def timezones():
    return Config.objects.select_related("namespace", "schema").get(
        namespace__slug="data-pipelines", key="company-timezones"
    )


def with_company(value, company_id):
    value = copy.deepcopy(value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    return value


def with_warehouse(value, company_id):
    value = copy.deepcopy(value)
    value["connections"].append(
        {
            "company_id": company_id,
            "warehouse": "snowflake",
            "database": "ANALYTICS",
            "schema": "EVENTS",
            "credential_ref": f"vault://warehouses/{company_id}",
        }
    )
    return value


def propose(config, author, company_id):
    base = newest(config)
    return services.change_request_open(
        config=config,
        author=author,
        value=with_company(base.value, company_id),
        title=f"Add {company_id}",
        base_version=base.number,
    )


def at_once(*actions):
    """Run each action in its own thread (its own database connection), released together.

    Returns one (result, exception) pair per action, in order.
    """
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = (action(), None)
        except Exception as exc:  # reported to the test, which decides what is acceptable
            outcomes[index] = (None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return outcomes


def publisher(change_request_pk, username):
    def publish():
        return services.change_request_publish(
            change_request=ChangeRequest.objects.get(pk=change_request_pk), actor=user(username)
        )

    return publish


def test_two_racing_publishes_on_one_base_make_exactly_one_new_version(demo):
    config, alice, bob, carol = timezones(), user("alice"), user("bob"), user("carol")

    for round_ in range(ROUNDS):
        first = propose(config, alice, f"first-{round_}")
        second = propose(config, carol, f"second-{round_}")
        services.change_request_approve(change_request=first, reviewer=bob)
        services.change_request_approve(change_request=second, reviewer=bob)

        outcomes = at_once(publisher(first.pk, "bob"), publisher(second.pk, "carol"))

        errors = [exc for _, exc in outcomes if exc is not None]
        assert [type(exc) for exc in errors] == [Conflict], errors
        published = [version for version, _ in outcomes if version is not None]
        assert [version.number for version in published] == [round_ + 2]
        assert versions_of(config).count() == round_ + 2
        pair = ChangeRequest.objects.filter(pk__in=[first.pk, second.pk])
        statuses = sorted(pair.values_list("status", flat=True))
        assert statuses == [ChangeRequest.Status.CONFLICTED, ChangeRequest.Status.PUBLISHED]
        winner = pair.get(status=ChangeRequest.Status.PUBLISHED)
        assert winner.published_version == published[0]
        assert newest(config).value == winner.value


def test_two_racing_sets_over_a_shared_config_publish_one_set_whole_and_nothing_of_the_other(
    demo,
):
    config, alice, bob = timezones(), user("alice"), user("bob")
    warehouses = Config.objects.get(namespace__slug="data-pipelines", key="warehouse-connections")
    legacy = Config.objects.get(namespace__slug="sales-ops", key="legacy-fields")

    for round_ in range(ROUNDS // 4):
        # The two sets share company-timezones; each also changes a config of its own.
        first = services.change_request_open(
            author=alice,
            title=f"First {round_}",
            changes=[
                services.Proposed(
                    config, with_company(newest(config).value, f"a-{round_}"), newest(config).number
                ),
                services.Proposed(
                    warehouses,
                    with_warehouse(newest(warehouses).value, f"a-{round_}"),
                    newest(warehouses).number,
                ),
            ],
        )
        second = services.change_request_open(
            author=alice,
            title=f"Second {round_}",
            changes=[
                services.Proposed(
                    config, with_company(newest(config).value, f"b-{round_}"), newest(config).number
                ),
                services.Proposed(
                    legacy, {**newest(legacy).value, "note": f"b-{round_}"}, newest(legacy).number
                ),
            ],
        )
        for cr in (first, second):
            services.change_request_approve(change_request=cr, reviewer=bob)
        before = {c.pk: newest(c).number for c in (config, warehouses, legacy)}

        outcomes = at_once(publisher(first.pk, "bob"), publisher(second.pk, "carol"))

        assert [type(exc) for _, exc in outcomes if exc is not None] == [Conflict]
        winner = first if outcomes[0][1] is None else second
        loser = second if winner is first else first
        own = {first.pk: warehouses, second.pk: legacy}
        assert newest(config).number == before[config.pk] + 1
        assert newest(own[winner.pk]).number == before[own[winner.pk].pk] + 1
        # Nothing of the losing set was written, not even its own config.
        assert newest(own[loser.pk]).number == before[own[loser.pk].pk]
        assert ChangeRequest.objects.get(pk=loser.pk).status == ChangeRequest.Status.CONFLICTED


def test_an_edit_racing_an_approval_never_leaves_an_approval_on_a_value_not_reviewed(demo):
    config, alice, bob = timezones(), user("alice"), user("bob")

    for round_ in range(ROUNDS):
        cr = propose(config, alice, f"co-{round_}")
        edited = with_company(cr.value, f"edit-{round_}")

        def edit(pk=cr.pk, value=edited):
            return services.change_request_edit(
                change_request=ChangeRequest.objects.get(pk=pk), actor=user("alice"), value=value
            )

        def approve(pk=cr.pk):
            return services.change_request_approve(
                change_request=ChangeRequest.objects.get(pk=pk), reviewer=user("bob")
            )

        outcomes = at_once(edit, approve)

        assert [exc for _, exc in outcomes if exc is not None] == []
        cr = ChangeRequest.objects.get(pk=cr.pk)
        assert cr.value == edited and cr.revision == 2
        approval = Review.objects.get(change_request=cr, reviewer=bob)
        standing = cr.reviews.filter(dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE)
        for review in standing:
            assert (review.proposal_hash, review.revision) == (cr.proposal_hash, cr.revision)
        gate = gate_for(cr)
        if approval.revision == 1:  # the approval was of the first value: the edit came last
            assert approval.dismissed_at is not None
            assert gate.approvers == []
            assert cr.status == ChangeRequest.Status.IN_REVIEW
        else:
            assert gate.approvers == [bob]
            assert cr.status == ChangeRequest.Status.APPROVED
        services.change_request_withdraw(change_request=cr, actor=alice)


def test_an_edit_racing_the_publish_of_another_change_is_never_lost(demo):
    """Publishing marks the other open changes conflicted, never writing back their old value."""
    config, alice, bob, carol = timezones(), user("alice"), user("bob"), user("carol")

    for round_ in range(ROUNDS):
        winner = propose(config, carol, f"win-{round_}")
        other = propose(config, alice, f"other-{round_}")
        services.change_request_approve(change_request=winner, reviewer=bob)
        edited = with_company(other.value, f"edit-{round_}")

        def edit(pk=other.pk, value=edited):
            return services.change_request_edit(
                change_request=ChangeRequest.objects.get(pk=pk), actor=user("alice"), value=value
            )

        (_, edit_error), (version, publish_error) = at_once(edit, publisher(winner.pk, "bob"))

        assert publish_error is None, publish_error
        assert version.number == round_ + 2
        other = ChangeRequest.objects.get(pk=other.pk)
        assert other.status == ChangeRequest.Status.CONFLICTED
        if edit_error is None:  # the edit went first: it must survive the publish
            assert (other.value, other.revision) == (edited, 2)
        else:  # the publish went first: the edit is refused (rebase first), the proposal unchanged
            assert isinstance(edit_error, Conflict), edit_error
            assert "must rebase it before it can be edited" in str(edit_error)
            assert other.revision == 1
        services.change_request_withdraw(change_request=other, actor=alice)


def test_a_config_publish_racing_a_schema_change_publish_leaves_exactly_one(demo):
    from configs.models import Schema

    alice, bob, carol = user("alice"), user("bob"), user("carol")
    for round_ in range(ROUNDS // 4):
        config = timezones()
        schema = Schema.objects.get(pk=config.schema_id)
        body = copy.deepcopy(schema.body)
        item = body["properties"]["companies"]["items"]
        item["properties"][f"team_{round_}"] = {"type": "string", "default": "data"}
        item["required"] = [*item["required"], f"team_{round_}"]
        schema_change = services.schema_change_open(
            schema=schema,
            author=carol,
            body=body,
            base_version=schema.versions.order_by("-number").first().number,
            title=f"Team {round_}",
        )
        services.change_request_approve(change_request=schema_change, reviewer=bob)
        base = newest(config)
        value = with_company(base.value, f"racer-{round_}")
        teams = schema.body["properties"]["companies"]["items"]["required"]
        value["companies"][-1].update({k: "data" for k in teams if k.startswith("team_")})
        change = services.change_request_open(
            config=config, author=alice, value=value, title="Race", base_version=base.number
        )
        services.change_request_approve(change_request=change, reviewer=bob)
        before = versions_of(config).count()

        def publish_schema(pk=schema_change.pk):
            return services.change_request_publish(
                change_request=ChangeRequest.objects.get(pk=pk), actor=user("bob")
            )

        outcomes = at_once(publisher(change.pk, "bob"), publish_schema)

        errors = [exc for _, exc in outcomes if exc is not None]
        assert [type(exc) for exc in errors] == [Conflict], errors
        assert versions_of(config).count() == before + 1
        schema_change.refresh_from_db()
        change.refresh_from_db()
        statuses = {change.status, schema_change.status}
        assert statuses == {ChangeRequest.Status.PUBLISHED, ChangeRequest.Status.CONFLICTED}
        if schema_change.status == ChangeRequest.Status.PUBLISHED:
            assert all(f"team_{round_}" in c for c in newest(config).value["companies"])
        else:
            assert Schema.objects.get(pk=schema.pk).versions.count() == schema.versions.count()
