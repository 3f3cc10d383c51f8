"""`POST /api/v1/change-requests/`: several configs in one change request, and every answer at
`/api/v1/change-requests/<id>/` with its `changes`."""

import copy
import json

import pytest

from audit.models import AuditEvent
from configs.models import Config, Version
from configs.selectors import newest_version as newest
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouses(demo):
    return Config.objects.get(namespace__slug="data-pipelines", key="warehouse-connections")


@pytest.fixture
def alice_writes(alice):
    _token, secret = make_token(alice, "data-pipelines", "sales-ops", write=True)
    return client_for(secret)


@pytest.fixture
def bob_writes(bob):
    _token, secret = make_token(bob, "data-pipelines", "sales-ops", write=True)
    return client_for(secret)


def warehouse_value(config, company_id="hooli", warehouse="snowflake"):
    value = copy.deepcopy(newest(config).value)
    value["connections"].append(
        {
            "company_id": company_id,
            "warehouse": warehouse,
            "database": "ANALYTICS",
            "schema": "EVENTS",
            "credential_ref": f"vault://warehouses/{company_id}",
        }
    )
    return value


def onboarding(timezones, warehouses, **warehouse):
    return {
        "title": "Onboard hooli",
        "changes": [
            {
                "namespace": "data-pipelines",
                "key": "company-timezones",
                "value": with_company(timezones, "hooli"),
                "base_version": 1,
            },
            {
                "namespace": "data-pipelines",
                "key": "warehouse-connections",
                "value": warehouse_value(warehouses, **warehouse),
                "base_version": 1,
            },
        ],
    }


def test_a_set_is_opened_approved_and_published_as_one(
    alice_writes, bob_writes, timezones, warehouses
):
    response = alice_writes.post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    )

    assert response.status_code == 201, response.json()
    opened = response.json()
    assert opened["status"] == "in_review"
    assert opened["required_approvals"] == 1
    assert [(c["kind"], c["key"], c["base_version"]) for c in opened["changes"]] == [
        ("config", "company-timezones", 1),
        ("config", "warehouse-connections", 1),
    ]
    assert opened["value"] is None and opened["key"] is None  # several configs: see `changes`
    url = f"/api/v1/change-requests/{opened['id']}/"
    assert bob_writes.post(url + "approve/", {}, format="json").status_code == 200

    published = bob_writes.post(url + "publish/", {}, format="json")

    assert published.status_code == 200, published.json()
    assert published.json()["status"] == "published"
    assert [c["published_version"] for c in published.json()["changes"]] == [2, 2]
    assert newest(timezones).number == 2 and newest(warehouses).number == 2
    assert (
        AuditEvent.objects.filter(
            action="change_request.published", target_id=str(opened["id"])
        ).count()
        == 2
    )


def test_a_set_where_one_base_moved_answers_409_and_changes_neither_config(
    alice_writes, bob_writes, carol, timezones, warehouses
):
    opened = alice_writes.post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    ).json()
    url = f"/api/v1/change-requests/{opened['id']}/"
    bob_writes.post(url + "approve/", {}, format="json")
    other = bob_writes.post(
        "/api/v1/configs/data-pipelines/warehouse-connections/change-requests/",
        {"value": warehouse_value(warehouses, "initech"), "base_version": 1, "title": "Initech"},
        format="json",
    ).json()
    _token, secret = make_token(carol, "data-pipelines", write=True)
    client_for(secret).post(f"/api/v1/change-requests/{other['id']}/approve/", {}, format="json")
    assert (
        bob_writes.post(
            f"/api/v1/change-requests/{other['id']}/publish/", {}, format="json"
        ).status_code
        == 200
    )

    response = bob_writes.post(url + "publish/", {}, format="json")

    assert response.status_code == 409
    assert "warehouse-connections" in response.json()["detail"]
    assert newest(timezones).number == 1
    assert alice_writes.get(url).json()["status"] == "conflicted"
    # Both added a warehouse connection: carried over as it is, the set would drop initech's.
    clash = alice_writes.post(url + "rebase/", {}, format="json")
    assert clash.status_code == 409
    assert "warehouse-connections (/connections)" in clash.json()["detail"]
    merged = warehouse_value(warehouses)  # the newest, with initech, and hooli
    rebased = alice_writes.post(
        url + "rebase/",
        {"values": {"data-pipelines/warehouse-connections": merged}},
        format="json",
    )
    assert rebased.status_code == 200, rebased.json()
    assert rebased.json()["status"] == "in_review"
    assert [c["base_version"] for c in rebased.json()["changes"]] == [1, 2]


def test_an_invalid_value_in_a_set_names_its_config_and_path(alice_writes, timezones, warehouses):
    response = alice_writes.post(
        "/api/v1/change-requests/",
        onboarding(timezones, warehouses, warehouse="excel"),
        format="json",
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["change"] == "data-pipelines/warehouse-connections"
    assert error["path"] == "/connections/2/warehouse"
    assert not ChangeRequest.objects.exists()


def test_a_base_that_is_not_the_newest_answers_409(alice_writes, timezones, warehouses):
    body = onboarding(timezones, warehouses)
    body["changes"][1]["base_version"] = 5

    response = alice_writes.post("/api/v1/change-requests/", body, format="json")

    assert response.status_code == 409
    assert not ChangeRequest.objects.exists()


def test_a_config_the_token_cannot_read_is_404_and_nothing_is_opened(alice, timezones, warehouses):
    _token, secret = make_token(alice, "sales-ops", write=True)
    response = client_for(secret).post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    )
    assert response.status_code == 404
    assert not ChangeRequest.objects.exists()


def test_a_read_token_cannot_open_a_set(alice, timezones, warehouses):
    _token, secret = make_token(alice, "data-pipelines")
    response = client_for(secret).post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    )
    assert response.status_code == 403


def test_a_draft_set_is_kept_for_its_author(alice_writes, timezones, warehouses):
    response = alice_writes.post(
        "/api/v1/change-requests/",
        {**onboarding(timezones, warehouses), "draft": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "draft"


def test_patch_with_changes_replaces_the_set(alice_writes, timezones, warehouses):
    opened = alice_writes.post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    ).json()
    only_timezones = onboarding(timezones, warehouses)["changes"][:1]

    response = alice_writes.patch(
        f"/api/v1/change-requests/{opened['id']}/", {"changes": only_timezones}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert [c["key"] for c in response.json()["changes"]] == ["company-timezones"]
    assert response.json()["revision"] == 2
    # One config again: the one-config fields are filled in.
    assert response.json()["key"] == "company-timezones"


def test_the_one_config_shortcut_keeps_its_answer_and_adds_changes(alice_writes, timezones):
    response = alice_writes.post(
        "/api/v1/configs/data-pipelines/company-timezones/change-requests/",
        {"value": with_company(timezones, "hooli"), "base_version": 1, "title": "Hooli"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["namespace"], body["key"], body["base_version"]) == (
        "data-pipelines",
        "company-timezones",
        1,
    )
    assert body["value"] == with_company(timezones, "hooli")
    assert [c["key"] for c in body["changes"]] == ["company-timezones"]


def test_a_schema_change_is_proposed_at_the_change_requests_address_too(carol, timezones):
    schema = timezones.schema
    body = {**schema.body, "properties": {**schema.body["properties"], "note": {"type": "string"}}}
    _token, secret = make_token(carol, "data-pipelines", "sales-ops", write=True)
    change = {"schema": schema.name, "body": body, "base_version": 1}

    response = client_for(secret).post(
        "/api/v1/change-requests/", {"title": "A note", "changes": [change]}, format="json"
    )

    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["kind"] == "schema"
    assert answer["changes"][0]["kind"] == "schema"
    assert answer["changes"][0]["schema"] == schema.name
    assert answer["changes"][0]["body"] == body


def test_a_schema_change_mixed_with_config_changes_is_400(alice_writes, timezones, warehouses):
    mixed = onboarding(timezones, warehouses)
    mixed["changes"].append(
        {"schema": timezones.schema.name, "body": {"type": "object"}, "base_version": 1}
    )

    response = alice_writes.post("/api/v1/change-requests/", mixed, format="json")

    assert response.status_code == 400
    assert "proposed alone" in str(response.json())


def test_a_preview_of_the_second_config_of_a_set(alice_writes, timezones, warehouses):
    opened = alice_writes.post(
        "/api/v1/change-requests/", onboarding(timezones, warehouses), format="json"
    ).json()

    response = alice_writes.get(
        "/api/v1/configs/data-pipelines/warehouse-connections/value/",
        {"change_request": opened["id"]},
    )

    assert response.status_code == 200
    assert response.json() == warehouse_value(warehouses)
    bundle = alice_writes.get(
        "/api/v1/namespaces/data-pipelines/bundle/", {"change_request": opened["id"]}
    ).json()
    assert "hooli" in str(bundle["configs"]["company-timezones"]["value"])
    assert "hooli" in str(bundle["configs"]["warehouse-connections"]["value"])


def hooli_config(value=None):
    return {
        "namespace": "data-pipelines",
        "key": "hooli-settings",
        "value": {"region": "eu"} if value is None else value,
        "new": {"name": "Hooli settings", "schema": None},
    }


def test_a_set_creates_a_config_with_its_first_value_reviewed_with_the_rest(
    alice_writes, bob_writes, timezones
):
    proposal = {
        "title": "Onboard hooli",
        "changes": [
            {
                "namespace": "data-pipelines",
                "key": "company-timezones",
                "value": with_company(timezones, "hooli"),
                "base_version": 1,
            },
            hooli_config(),
        ],
    }

    opened = alice_writes.post("/api/v1/change-requests/", proposal, format="json")

    assert opened.status_code == 201, opened.json()
    kinds = {c["key"]: c["kind"] for c in opened.json()["changes"]}
    assert kinds == {"company-timezones": "config", "hooli-settings": "new_config"}
    # Pipelines get 404 until it is published.
    assert alice_writes.get("/api/v1/configs/data-pipelines/hooli-settings/").status_code == 404
    url = f"/api/v1/change-requests/{opened.json()['id']}/"
    bob_writes.post(url + "approve/", {}, format="json")
    published = bob_writes.post(url + "publish/", {}, format="json")
    assert published.status_code == 200, published.json()
    read = alice_writes.get("/api/v1/configs/data-pipelines/hooli-settings/").json()
    assert (read["version"], read["value"]) == (1, {"region": "eu"})
    assert newest(timezones).number == 2


def test_a_refused_set_creates_no_config(alice_writes, timezones):
    proposal = {
        "title": "Onboard hooli",
        "changes": [
            {
                "namespace": "data-pipelines",
                "key": "company-timezones",
                "value": {"companies": "not a list"},
                "base_version": 1,
            },
            hooli_config(),
        ],
    }

    response = alice_writes.post("/api/v1/change-requests/", proposal, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["change"] == "data-pipelines/company-timezones"
    assert not Config.objects.filter(key="hooli-settings").exists()


def test_a_new_config_in_a_set_with_an_unknown_schema_is_400_naming_it(alice_writes):
    change = hooli_config()
    change["new"]["schema"] = "no-such-schema"

    response = alice_writes.post(
        "/api/v1/change-requests/", {"title": "x", "changes": [change]}, format="json"
    )

    assert response.status_code == 400
    assert "no-such-schema" in str(response.json())
    assert not Config.objects.filter(key="hooli-settings").exists()


def hooli_override(timezone="Asia/Tokyo"):
    return {
        "name": "hooli-itself",
        "when": [{"attribute": "company", "op": "in", "values": ["hooli"]}],
        "value": {"companies": [{"company_id": "hooli", "timezone": timezone}]},
    }


def hooli_timezones(**extra):
    return {
        "namespace": "data-pipelines",
        "key": "hooli-timezones",
        "value": {"companies": []},
        "new": {"name": "Hooli timezones", "schema": "company-timezones"},
        **extra,
    }


def test_a_config_created_in_a_set_carries_overrides_into_every_environment(
    client, alice_writes, bob_writes, bob
):
    opened = alice_writes.post(
        "/api/v1/change-requests/",
        {"title": "Hooli's own time", "changes": [hooli_timezones(overrides=[hooli_override()])]},
        format="json",
    )

    assert opened.status_code == 201, opened.json()
    (change,) = opened.json()["changes"]
    assert (change["kind"], change["overrides"]) == ("new_config", [hooli_override()])
    client.force_login(bob)
    page = client.get(f"/changes/{opened.json()['id']}/").content.decode()
    assert "For company hooli: Companies: added hooli (Asia/Tokyo)" in page
    url = f"/api/v1/change-requests/{opened.json()['id']}/"
    bob_writes.post(url + "approve/", {}, format="json")
    assert bob_writes.post(url + "publish/", {}, format="json").status_code == 200
    versions = Version.objects.filter(config__key="hooli-timezones")
    assert sorted(v.environment.name for v in versions) == ["development", "production", "staging"]
    # Keys sorted: PostgreSQL's jsonb keeps them in an order of its own.
    assert {(v.number, json.dumps(v.overrides, sort_keys=True)) for v in versions} == {
        (1, json.dumps([hooli_override()], sort_keys=True))
    }


def test_a_new_config_s_invalid_override_is_400_naming_it_and_nothing_is_created(alice_writes):
    response = alice_writes.post(
        "/api/v1/change-requests/",
        {
            "title": "Hooli's own time",
            "changes": [hooli_timezones(overrides=[hooli_override("Mars/Olympus")])],
        },
        format="json",
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["path"] == "/overrides/0/value/companies/0/timezone"
    assert error["message"].startswith("hooli-itself: ")
    assert not Config.objects.filter(key="hooli-timezones").exists()
