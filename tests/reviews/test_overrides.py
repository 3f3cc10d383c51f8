"""Overrides as part of the reviewed value, for people: the change request page, the version
comparison and the audit log say whom they serve and what changes for them, and publishing
(also a schema change's migration) keeps them."""

import copy

import pytest
from django.db import transaction

from audit.models import AuditEvent
from configs.override_words import override_sentences, whom
from configs.selectors import newest_version as newest
from configs.services import NewVersion, versions_publish
from reviews import services

pytestmark = pytest.mark.django_db


def for_companies(value, *companies, name="globex-and-initech"):
    return {
        "name": name,
        "when": [{"attribute": "company", "op": "in", "values": list(companies)}],
        "value": value,
    }


def kolkata_for_globex(timezones):
    value = copy.deepcopy(newest(timezones).value)
    for company in value["companies"]:
        if company["company_id"] == "globex":
            company["timezone"] = "Asia/Kolkata"
    return value


@pytest.fixture
def proposal(timezones, alice):
    live = newest(timezones)
    return services.change_request_open(
        config=timezones,
        author=alice,
        value=live.value,
        overrides=[for_companies(kolkata_for_globex(timezones), "globex", "initech")],
        base_version=live.number,
        title="Kolkata time for Globex and Initech",
    )


def test_the_change_request_page_says_whom_an_override_serves_and_what_changes(
    client, bob, proposal
):
    client.force_login(bob)

    page = client.get(proposal.get_absolute_url()).content.decode()

    assert "For companies globex, initech: Companies → globex → Timezone:" in page
    assert "Asia/Kolkata" in page


def test_the_audit_event_tells_the_overrides_changes(proposal):
    event = AuditEvent.objects.filter(action="change_request.opened").latest("id")

    (line,) = event.details["override_changes"]
    assert line.startswith("For companies globex, initech: Companies → globex → Timezone:")


def test_the_version_comparison_tells_the_overrides_changes(client, dave, bob, proposal):
    services.change_request_approve(change_request=proposal, reviewer=bob)
    services.change_request_publish(change_request=proposal, actor=bob)
    client.force_login(dave)

    page = client.get(
        "/configs/data-pipelines/company-timezones/compare/", {"from": 1, "to": 2}
    ).content.decode()

    assert "For companies globex, initech: Companies → globex → Timezone:" in page


def test_a_schema_change_s_migrated_versions_keep_their_overrides(timezones, carol, proposal, bob):
    services.change_request_approve(change_request=proposal, reviewer=bob)
    services.change_request_publish(change_request=proposal, actor=bob)
    live = newest(timezones)
    migrated = copy.deepcopy(live.value)
    migrated["companies"].append({"company_id": "hooli", "timezone": "UTC"})

    with transaction.atomic():
        versions = versions_publish(
            changes=[NewVersion(timezones.pk, migrated, live.number)], actor=carol
        )

    assert versions[timezones.pk, live.environment_id].overrides == live.overrides != []


def test_publishing_checks_kept_overrides_against_the_schema(timezones, carol, proposal, bob):
    from common.errors import InvalidValue

    services.change_request_approve(change_request=proposal, reviewer=bob)
    services.change_request_publish(change_request=proposal, actor=bob)
    live = newest(timezones)
    wrong = {"name": "x", "when": [{"attribute": "c", "op": "in", "values": ["a"]}], "value": 1}

    with pytest.raises(InvalidValue) as refused, transaction.atomic():
        versions_publish(
            changes=[NewVersion(timezones.pk, live.value, live.number, overrides=[wrong])],
            actor=carol,
        )

    assert refused.value.errors[0]["path"] == "/overrides/0/value"


@pytest.mark.parametrize(
    ("override", "words"),
    [
        (for_companies(1, "globex"), "For company globex"),
        (for_companies(1, "globex", "initech"), "For companies globex, initech"),
        (
            {"name": "n", "when": [{"attribute": "seats", "op": "gte", "value": 500}], "value": 1},
            "For seats at least 500",
        ),
        (
            {
                "name": "n",
                "when": [
                    {"attribute": "country", "op": "not_in", "values": ["de", "fr"]},
                    {"attribute": "app_version", "op": "semver_lt", "value": "2.0.0"},
                ],
                "value": 1,
            },
            "For country other than de or fr and app version before version 2.0.0",
        ),
        (
            {"name": "r", "split": {"buckets": [{"percent": 100, "value": 1}]}},
            "For a split by id",
        ),
    ],
)
def test_whom_an_override_serves_in_words(override, words):
    assert whom(override) == words


def test_removed_and_reordered_overrides_are_told():
    a, b = for_companies(1, "globex", name="a"), for_companies(2, "initech", name="b")

    assert override_sentences(0, [a, b], 0, [b, a]) == [
        "Overrides: order changed: b, a (the first that matches wins)"
    ]
    assert override_sentences(0, [a, b], 0, [b]) == [
        "For company globex: no value of their own any more (override a removed)"
    ]


def _conflicted_by(timezones, alice, carol, bob, *, ours, theirs):
    """carol proposes `ours` overrides (or keeps the base's: None), then alice's `theirs` is
    published first: carol's change request is conflicted."""
    live = newest(timezones)
    value = copy.deepcopy(live.value)
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    mine = services.change_request_open(
        config=timezones,
        author=carol,
        value=value,
        overrides=ours,
        base_version=live.number,
        title="Hooli",
    )
    first = services.change_request_open(
        config=timezones,
        author=alice,
        value=live.value,
        overrides=theirs,
        base_version=live.number,
        title="Theirs",
    )
    services.change_request_approve(change_request=first, reviewer=bob)
    services.change_request_publish(change_request=first, actor=bob)
    mine.refresh_from_db()
    assert mine.status == mine.Status.CONFLICTED
    return mine


def test_a_rebase_carries_overrides_published_since_instead_of_undoing_them(
    timezones, alice, carol, bob
):
    theirs = [for_companies(kolkata_for_globex(timezones), "globex")]
    mine = _conflicted_by(timezones, alice, carol, bob, ours=None, theirs=theirs)

    services.change_request_rebase(change_request=mine, actor=carol)

    mine.refresh_from_db()
    assert mine.change.overrides == theirs
    assert mine.change.value["companies"][-1]["company_id"] == "hooli"


def test_a_rebase_refuses_when_both_sides_changed_the_overrides(timezones, alice, carol, bob):
    from common.errors import Conflict

    value = kolkata_for_globex(timezones)
    mine = _conflicted_by(
        timezones,
        alice,
        carol,
        bob,
        ours=[for_companies(value, "initech", name="mine")],
        theirs=[for_companies(value, "globex", name="theirs")],
    )

    with pytest.raises(Conflict, match="its overrides"):
        services.change_request_rebase(change_request=mine, actor=carol)


def test_a_schema_change_that_an_override_s_value_breaks_is_refused_naming_it(metrics, carol):
    from common.errors import InvalidValue
    from reviews.services import schema_change_open

    schema = metrics.schema
    body = copy.deepcopy(schema.body)
    # The demo's override for Globex sums checkout revenue in euros; say sums are gone.
    body["properties"]["metrics"]["items"]["properties"]["kind"]["enum"].remove("sum")

    with pytest.raises(InvalidValue) as refused:
        schema_change_open(
            schema=schema, body=body, author=carol, title="No more sums", base_version=1
        )

    paths = {(e.get("config"), e["path"]) for e in refused.value.errors}
    assert ("sales-ops/custom-metrics", "/overrides/0/value/metrics/0/kind") in paths


@pytest.fixture
def a_set_with_an_override(timezones, alice):
    """Onboarding as a set: Kolkata time for Globex and Initech, and hooli's warehouse."""
    from configs.models import Config
    from reviews.services import Proposed
    from tests.reviews.test_sets import with_warehouse

    warehouses = Config.objects.get(namespace__slug="data-pipelines", key="warehouse-connections")
    live = newest(timezones)
    return services.change_request_open(
        author=alice,
        title="Onboard hooli, Kolkata time for Globex and Initech",
        changes=[
            Proposed(
                timezones,
                live.value,
                live.number,
                [for_companies(kolkata_for_globex(timezones), "globex", "initech")],
            ),
            Proposed(warehouses, with_warehouse(warehouses, "hooli"), newest(warehouses).number),
        ],
    )


def test_a_set_s_audit_events_tell_each_config_s_overrides_changes(
    client, bob, a_set_with_an_override
):
    cr = a_set_with_an_override
    opened = AuditEvent.objects.get(action="change_request.opened", target_id=str(cr.pk))
    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)

    (line,) = opened.details["override_changes"]["data-pipelines/company-timezones"]
    assert line.startswith("For companies globex, initech: Companies → globex → Timezone:")
    assert "data-pipelines/warehouse-connections" not in opened.details["override_changes"]
    published = AuditEvent.objects.get(
        action="change_request.published", target_id=str(cr.pk), config="company-timezones"
    )
    assert published.details["override_changes"] == [line]
    client.force_login(bob)
    page = client.get("/audit/").content.decode()
    assert (
        "data-pipelines/company-timezones: For companies globex, initech: Companies → globex"
        in page
    )


def test_editing_a_set_tells_the_overrides_changes(timezones, alice, a_set_with_an_override):
    cr = a_set_with_an_override
    changes = [
        services.Proposed(
            c.config,
            c.value,
            c.base_version_number,
            [for_companies(kolkata_for_globex(timezones), "globex")],
            c.env,
        )
        if c.config == timezones
        else services.Proposed(c.config, c.value, c.base_version_number, None, c.env)
        for c in cr.change_list
    ]

    services.change_request_edit(change_request=cr, actor=alice, changes=changes)

    edited = AuditEvent.objects.get(action="change_request.edited", target_id=str(cr.pk))
    assert edited.details["override_changes"] == {
        "data-pipelines/company-timezones": [
            "Override globex-and-initech: now for company globex (was for companies globex, "
            "initech)"
        ]
    }
