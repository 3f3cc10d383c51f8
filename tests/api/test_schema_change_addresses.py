"""A schema change request is a change request: it has an id no config change shares, and the
change request addresses read, approve, request changes on, publish (or bypass) and withdraw
it."""

import copy

import pytest

from audit.models import AuditEvent
from configs import selectors
from configs.models import Membership, Role
from reviews import services
from tests.api.conftest import client_for, make_token
from tests.values import with_company


def owner_team(body, default="data"):
    body = copy.deepcopy(body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team"}
    if default is not None:
        item["properties"]["owner_team"]["default"] = default
    item["required"] = [*item["required"], "owner_team"]
    return body


def open_change(timezones, author, body=None, **kwargs):
    return services.schema_change_open(
        schema=timezones.schema,
        author=author,
        body=body or owner_team(timezones.schema.body),
        base_version=1,
        title="Every company has an owner team",
        **kwargs,
    )


def _writer(user, *namespaces):
    namespaces = namespaces or ("data-pipelines", "sales-ops")
    return client_for(make_token(user, *namespaces, write=True)[1])


def _open_by_api(author, timezones):
    opened = _writer(author).post(
        "/api/v1/schemas/company-timezones/change-requests/",
        {"schema": owner_team(timezones.schema.body), "base_version": 1, "title": "Owner teams"},
    )
    assert opened.status_code == 201, opened.json()
    return opened.json()["id"]


def test_config_and_schema_change_requests_never_share_an_id(alice, carol, bob, timezones):
    config_change = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "globex"),
        title="Add Globex",
        base_version=1,
    )
    schema_change = open_change(timezones, carol)
    later_config_change = services.change_request_open(
        config=timezones,
        author=bob,
        value=with_company(timezones, "initech"),
        title="Add Initech",
        base_version=1,
    )

    ids = [config_change.pk, schema_change.pk, later_config_change.pk]
    assert len(set(ids)) == 3
    assert ids == sorted(ids)
    api = _writer(bob)
    config_read = api.get(f"/api/v1/change-requests/{config_change.pk}/").json()
    assert (config_read["kind"], config_read["key"]) == ("config", "company-timezones")
    read = api.get(f"/api/v1/change-requests/{schema_change.pk}/").json()
    assert (read["kind"], read["changes"][0]["schema"], read["status"]) == (
        "schema",
        "company-timezones",
        "in_review",
    )
    assert read["url"].endswith(f"/changes/{schema_change.pk}/")


def test_request_changes_then_approve_then_publish_at_the_change_request_addresses(
    carol, bob, timezones
):
    pk = _open_by_api(carol, timezones)
    api = _writer(bob)

    asked = api.post(f"/api/v1/change-requests/{pk}/request-changes/", {"comment": "Why data?"})
    assert asked.status_code == 200, asked.json()
    assert asked.json()["status"] == "changes_requested"
    assert asked.json()["missing"] == [
        "1 more approval",
        "bob to approve (they requested changes)",
    ]

    approved = api.post(f"/api/v1/change-requests/{pk}/approve/", {"comment": "Fine"})
    assert approved.json()["status"] == "approved"
    assert approved.json()["approvals"] == ["bob"]

    published = api.post(f"/api/v1/change-requests/{pk}/publish/", {})
    assert published.status_code == 200, published.json()
    assert published.json()["status"] == "published"
    assert published.json()["published_version"] == 2
    assert selectors.live_version(timezones).number == 2
    # Its changes, as every change request lists them: the schema's, then each config's.
    schema_change, *config_changes = published.json()["changes"]
    assert schema_change == {
        "kind": "schema",
        "schema": "company-timezones",
        "body": owner_team(timezones.schema.body),
        "base_version": 1,
        "published_version": 2,
    }
    # (the config's value in each environment, each the next version of its own line: the
    # demo's staging is one version ahead)
    assert [
        (c["kind"], c["key"], c["environment"], c["published_version"]) for c in config_changes
    ] == [
        ("config", "company-timezones", "development", 2),
        ("config", "company-timezones", "staging", 3),
        ("config", "company-timezones", "production", 2),
    ]


def test_the_author_withdraws_at_the_change_request_address(carol, timezones):
    pk = _open_by_api(carol, timezones)

    withdrawn = _writer(carol).post(f"/api/v1/change-requests/{pk}/withdraw/", {"reason": "Later"})

    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    again = _writer(carol).post(f"/api/v1/change-requests/{pk}/publish/", {})
    assert again.status_code == 409
    assert "is withdrawn; it cannot be published" in again.json()["detail"]


def test_an_admin_bypasses_missing_approvals_with_a_reason(carol, timezones):
    pk = _open_by_api(carol, timezones)

    published = _writer(carol).post(
        f"/api/v1/change-requests/{pk}/publish/", {"bypass_reason": "Outage: dashboards broken"}
    )

    assert published.status_code == 200, published.json()
    live = selectors.live_version(timezones)
    assert (live.number, live.bypass_reason) == (2, "Outage: dashboards broken")
    event = AuditEvent.objects.get(action="version.bypass")
    assert (event.actor_name, event.reason) == ("carol", "Outage: dashboards broken")
    assert event.details["missing"] == ["1 more approval"]


@pytest.mark.parametrize(
    "persona, body, status, says",
    [
        ("bob", {"bypass_reason": "Because"}, 403, "admin role in data-pipelines"),
        ("carol", {"bypass_reason": "  "}, 400, "A reason for the bypass is required"),
        ("carol", {}, 409, "1 more approval"),
    ],
)
def test_a_bypass_needs_the_admin_role_and_a_reason(
    request, carol, timezones, persona, body, status, says
):
    pk = _open_by_api(carol, timezones)

    refused = _writer(request.getfixturevalue(persona)).post(
        f"/api/v1/change-requests/{pk}/publish/", body
    )

    assert refused.status_code == status, refused.json()
    assert says in refused.json()["detail"]
    assert selectors.live_version(timezones).number == 1


def test_a_bypass_needs_the_admin_role_in_every_namespace_that_changes(carol, bob, timezones):
    pk = _open_by_api(carol, timezones)
    # Admin in sales-ops only: its configs do not change, so it does not count.
    Membership.objects.filter(user=bob, namespace__slug="sales-ops").update(role=Role.ADMIN)

    refused = _writer(bob).post(f"/api/v1/change-requests/{pk}/publish/", {"bypass_reason": "x"})

    assert refused.status_code == 403


def test_a_review_of_an_older_revision_is_refused(carol, bob, timezones):
    pk = _open_by_api(carol, timezones)

    stale = _writer(bob).post(f"/api/v1/change-requests/{pk}/approve/", {"revision": 2})

    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]


def test_a_schema_change_cannot_be_edited_as_one_value(carol, timezones):
    pk = _open_by_api(carol, timezones)

    edited = _writer(carol).patch(f"/api/v1/change-requests/{pk}/", {"value": {}}, format="json")

    assert edited.status_code == 400
    assert "A schema change carries a schema" in edited.json()["detail"]
    unchanged = _writer(carol).patch(f"/api/v1/change-requests/{pk}/", {}, format="json")
    assert unchanged.status_code == 400
    assert "Nothing to change" in unchanged.json()["errors"][0]["message"]


def test_a_token_scoped_elsewhere_does_not_reach_a_schema_change(carol, bob, timezones):
    pk = _open_by_api(carol, timezones)

    assert _writer(bob, "sales-ops").get(f"/api/v1/change-requests/{pk}/").status_code == 404
    assert _writer(bob, "sales-ops").post(f"/api/v1/change-requests/{pk}/approve/").status_code == (
        404
    )


def test_a_token_bound_to_staging_cannot_migrate_productions_values(carol, timezones):
    from configs import environments
    from reviews.models import ChangeRequest

    _token, secret = make_token(
        carol, "data-pipelines", "sales-ops", write=True, environment=environments.named("staging")
    )

    refused = client_for(secret).post(
        "/api/v1/schemas/company-timezones/change-requests/",
        {"schema": owner_team(timezones.schema.body), "base_version": 1, "title": "Owner teams"},
        format="json",
    )

    assert refused.status_code == 404
    assert "staging environment only" in refused.json()["detail"]
    assert not ChangeRequest.objects.filter(title="Owner teams").exists()
