"""New configs: in the console, over the API and in /admin/, version 1 passes the namespace's
review policy; a schema can start from an example."""

import pytest
from django.contrib.auth import get_user_model

from configs.inference import infer_schema, title_from_key
from configs.models import Config, Namespace, Schema
from configs.validation import validate_value
from reviews import services as review_services
from reviews.models import ChangeRequest
from reviews.new_configs import config_propose
from tests.api.conftest import client_for, make_token

HOLIDAYS = {
    "holidays": [
        {"date": "2026-12-25", "name": "Christmas", "country": "DE"},
        {"date": "2026-07-04", "name": "Independence Day", "country": "US", "half_day": False},
    ],
    "updated_at": "2026-11-01T09:00:00Z",
    "contact": "data@example.com",
    "source": "https://example.com/holidays",
}


def _ns(slug):
    return Namespace.objects.get(slug=slug)


def test_an_editor_creates_a_config_whose_version_one_waits_for_review(alice, bob):
    created = config_propose(
        namespace=_ns("data-pipelines"),
        key="holiday-calendar",
        name="Holiday calendar",
        value=HOLIDAYS,
        actor=alice,
        title="Holidays for the daily jobs",
    )

    assert created.version is None
    assert created.change_request.status == "in_review"
    assert list(created.config.owners.all()) == [alice]
    api = client_for(make_token(bob, "data-pipelines")[1])
    assert api.get("/api/v1/configs/data-pipelines/holiday-calendar/").status_code == 404

    review_services.change_request_approve(change_request=created.change_request, reviewer=bob)
    review_services.change_request_publish(change_request=created.change_request, actor=bob)
    assert api.get("/api/v1/configs/data-pipelines/holiday-calendar/").json()["version"] == 1


def test_where_no_approval_is_needed_version_one_is_published_at_once(alice):
    created = config_propose(
        namespace=_ns("sales-ops"),
        key="regions",
        name="Regions",
        value=["emea"],
        actor=alice,
        title="Regions we sell in",
    )

    assert created.version.number == 1
    assert created.change_request.status == "published"


def test_a_config_can_start_with_a_schema_inferred_from_its_example(alice):
    created = config_propose(
        namespace=_ns("data-pipelines"),
        key="holiday-calendar",
        name="Holiday calendar",
        value=HOLIDAYS,
        actor=alice,
        title="Holidays",
        new_schema=infer_schema(HOLIDAYS),
    )

    schema = Schema.objects.get(name="holiday-calendar")
    assert created.config.schema == schema
    assert schema.versions.get().created_by == alice


def test_the_audit_names_the_schema_made_with_a_config_and_its_namespace_sees_it(
    client, alice, carol
):
    config_propose(
        namespace=_ns("data-pipelines"),
        key="login-settings",
        name="Login settings",
        value={"sso": True, "mfa_required": False},
        actor=alice,
        title="Login settings for the data team",
        new_schema=infer_schema({"sso": True, "mfa_required": False}),
    )

    def rows(action):
        page = client.get("/audit/", {"action": action}).content.decode()
        return [row for row in page.split("<tr ") if "login-settings" in row]

    client.force_login(carol)
    [created] = rows("config.created")
    assert "Schema: login-settings" in created
    [schema] = rows("schema.created")
    assert "alice" in schema and "Made with data-pipelines/login-settings" in schema


def test_titles_from_keys_write_the_words_people_write_in_capitals():
    assert title_from_key("sso") == "SSO"
    assert title_from_key("mfa_required") == "MFA required"
    assert title_from_key("eu_vat_id") == "EU VAT ID"


@pytest.mark.parametrize(
    "key, error",
    [("company-timezones", "already exists"), ("Not A Slug", "key")],
)
def test_a_taken_or_malformed_key_is_refused(alice, key, error):
    from django.core.exceptions import ValidationError

    from common.errors import Conflict

    with pytest.raises((Conflict, ValidationError)) as refused:
        config_propose(
            namespace=_ns("data-pipelines"),
            key=key,
            name="X",
            value={},
            actor=alice,
            title="x",
        )
    assert error in str(refused.value)


def test_a_viewer_cannot_create_configs(dave):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        config_propose(
            namespace=_ns("sales-ops"), key="x", name="X", value={}, actor=dave, title="x"
        )
    assert not Config.objects.filter(key="x").exists()


def test_titles_come_from_keys():
    assert title_from_key("company_id") == "Company ID"
    assert title_from_key("owner_team") == "Owner team"
    assert title_from_key("effectiveFrom") == "Effective from"


def test_the_inferred_schema_has_formats_required_keys_and_merged_items():
    schema = infer_schema(HOLIDAYS)
    item = schema["properties"]["holidays"]["items"]

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert item["properties"]["date"]["format"] == "date"
    assert item["properties"]["half_day"]["type"] == "boolean"  # merged from the second item
    assert sorted(item["required"]) == ["country", "date", "name"]  # in every item
    assert schema["properties"]["updated_at"]["format"] == "date-time"
    assert schema["properties"]["contact"]["format"] == "email"
    assert schema["properties"]["source"]["format"] == "uri"
    assert schema["properties"]["holidays"]["title"] == "Holidays"
    assert validate_value(HOLIDAYS, schema) == []


# The API


def _writer(user, *slugs):
    return client_for(make_token(user, *slugs, write=True)[1])


def test_the_api_creates_a_config_in_review(alice):
    response = _writer(alice, "data-pipelines").post(
        "/api/v1/namespaces/data-pipelines/configs/",
        {"key": "holiday-calendar", "name": "Holidays", "value": HOLIDAYS, "title": "New"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["namespace"], body["key"], body["version"]) == (
        "data-pipelines",
        "holiday-calendar",
        None,
    )
    assert body["change_request"]


def test_the_api_publishes_version_one_where_no_review_is_needed(alice):
    response = _writer(alice, "sales-ops").post(
        "/api/v1/namespaces/sales-ops/configs/",
        {
            "key": "regions",
            "name": "Regions",
            "value": {"metrics": []},
            "schema": "custom-metrics",
            "title": "New",
        },
    )

    assert response.status_code == 201
    assert response.json()["version"] == 1
    assert Config.objects.get(key="regions").schema.name == "custom-metrics"


@pytest.mark.parametrize(
    "persona, body, status",
    [
        ("alice", {"key": "company-timezones", "name": "X", "value": {}, "title": "t"}, 409),
        ("alice", {"key": "Not a slug", "name": "X", "value": {}, "title": "t"}, 400),
        (
            "alice",
            {
                "key": "tz2",
                "name": "X",
                "value": {"companies": 3},
                "schema": "company-timezones",
                "title": "t",
            },
            400,
        ),
        ("alice", {"key": "tz2", "name": "X", "value": {}, "schema": "nope", "title": "t"}, 400),
        ("dave", {"key": "tz2", "name": "X", "value": {}, "title": "t"}, 403),
    ],
)
def test_the_api_refuses_bad_new_configs(request, persona, body, status):
    user = request.getfixturevalue(persona)
    response = _writer(user, "data-pipelines").post(
        "/api/v1/namespaces/data-pipelines/configs/", body
    )

    assert response.status_code == status, response.json()
    assert not Config.objects.filter(key="tz2").exists()
    if status == 400 and "companies" in str(body["value"]):
        assert response.json()["errors"][0]["path"] == "/companies"


def test_a_namespace_one_cannot_see_answers_404(erin):
    api = client_for()
    api.force_authenticate(erin)
    response = api.post(
        "/api/v1/namespaces/data-pipelines/configs/",
        {"key": "x", "name": "X", "value": {}, "title": "t"},
    )
    assert response.status_code == 404


def test_the_api_infers_a_schema_from_an_example(alice):
    response = client_for(make_token(alice, "data-pipelines")[1]).post(
        "/api/v1/schemas/infer/", {"example": HOLIDAYS}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["schema"] == infer_schema(HOLIDAYS)


def test_admins_add_schemas_over_the_api_and_others_may_not(carol, alice):
    body = {"name": "holidays", "title": "Holidays", "schema": infer_schema(HOLIDAYS)}

    refused = _writer(alice, "data-pipelines").post("/api/v1/schemas/", body)
    created = _writer(carol, "data-pipelines").post("/api/v1/schemas/", body)
    again = _writer(carol, "data-pipelines").post("/api/v1/schemas/", body)
    broken = _writer(carol, "data-pipelines").post(
        "/api/v1/schemas/", {"name": "broken", "schema": {"type": "nonsense"}}
    )

    assert refused.status_code == 403
    assert created.status_code == 201
    assert (created.json()["version"], created.json()["created_by"]) == (1, "carol")
    assert again.status_code == 409
    assert broken.status_code == 400
    reserved = _writer(carol, "data-pipelines").post("/api/v1/schemas/", {**body, "name": "infer"})
    assert reserved.status_code == 400


# The console


def test_the_config_list_offers_new_config_to_editors_only(client, alice, dave):
    client.force_login(alice)
    assert "New config" in client.get("/configs/").content.decode()
    client.force_login(dave)
    assert "New config" not in client.get("/configs/").content.decode()
    assert client.get("/configs/new/").status_code == 403


def test_carol_starts_a_config_from_an_example_in_the_console(client, carol, bob):
    import json

    client.force_login(carol)
    form = {
        "namespace": "data-pipelines",
        "key": "holiday-calendar",
        "name": "Holiday calendar",
        "schema_choice": "example",
        "example": json.dumps(HOLIDAYS),
        "title": "Holidays for the daily jobs",
    }
    proposed = client.post("/configs/new/", {**form, "propose": "1"})
    text = proposed.content.decode()
    assert "Proposed schema" in text and "Company" not in text
    schema_body = infer_schema(HOLIDAYS, title="Holiday calendar")
    schema_body["properties"]["contact"]["title"] = "Who to ask"

    created = client.post(
        "/configs/new/",
        {
            **form,
            "schema_body": json.dumps(schema_body),
            "editor": "raw",
            "raw": json.dumps(HOLIDAYS),
            "create": "1",
        },
    )

    assert created.status_code == 302
    config = Config.objects.get(key="holiday-calendar")
    assert config.schema.body["properties"]["contact"]["title"] == "Who to ask"
    listing = client.get("/configs/?namespace=data-pipelines").content.decode()
    assert "new, waiting for review" in listing


def test_the_console_keeps_what_was_typed_when_the_key_is_taken(client, alice):
    client.force_login(alice)
    page = client.post(
        "/configs/new/",
        {
            "namespace": "data-pipelines",
            "key": "company-timezones",
            "name": "Again",
            "schema_choice": "none",
            "editor": "raw",
            "raw": "{}",
            "title": "Try",
            "create": "1",
        },
    )

    assert page.status_code == 200
    assert "already exists" in page.content.decode()
    assert 'value="Again"' in page.content.decode()


def test_admin_add_config_goes_through_review(client, django_user_model, demo):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.login(username="root", password="pw-123456789")
    ns = _ns("data-pipelines")
    response = client.post(
        "/admin/configs/config/add/",
        {
            "namespace": ns.pk,
            "key": "via-admin",
            "name": "Via admin",
            "first_value": '{"a": 1}',
            "reason": "From the admin",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    config = Config.objects.get(key="via-admin")
    assert not config.versions.exists()
    assert ChangeRequest.objects.get(changes__config=config).status == "in_review"


def test_a_new_configs_review_shows_the_schema_made_with_it_in_words_and_as_its_form(
    client, alice, bob
):
    value = {"sso": True, "holidays": [{"date": "2026-12-25", "name": "Christmas"}]}
    created = config_propose(
        namespace=_ns("data-pipelines"),
        key="login-settings",
        name="Login settings",
        value=value,
        actor=alice,
        title="Login settings for the data team",
        new_schema=infer_schema(value),
    )

    client.force_login(bob)
    page = client.get(created.change_request.get_absolute_url()).content.decode()
    assert "Its schema:" in page and "Made with this config by alice" in page
    assert "SSO: yes/no, required" in page
    assert "Holidays → Date: date, required" in page
    assert 'class="readonly-form"' in page  # the value as the form the schema makes
    # The first value field by field, not one cut-off "whole value".
    assert "The whole value" not in page
    assert "SSO: set to yes" in page
    assert "Holidays: added Christmas (2026-12-25)" in page


def test_a_new_config_on_a_schema_in_use_says_so(client, alice, bob):
    created = config_propose(
        namespace=_ns("data-pipelines"),
        key="more-timezones",
        name="More timezones",
        value={"companies": [{"company_id": "umbrella", "timezone": "UTC"}]},
        actor=alice,
        title="Umbrella's timezone",
        schema=Schema.objects.get(name="company-timezones"),
    )

    client.force_login(bob)
    page = client.get(created.change_request.get_absolute_url()).content.decode()
    assert "already used by other configs" in page
    assert "Companies → Company ID: text, required" in page
    assert "Companies: added umbrella (UTC)" in page


KOLKATA_FOR_HOOLI = {
    "name": "hooli-itself",
    "when": [{"attribute": "company", "op": "in", "values": ["hooli"]}],
    "value": {"metrics": []},
}


def test_the_api_creates_a_config_with_overrides_in_version_one(alice):
    writer = _writer(alice, "sales-ops")
    response = writer.post(
        "/api/v1/namespaces/sales-ops/configs/",
        {
            "key": "regions",
            "name": "Regions",
            "value": {"metrics": []},
            "overrides": [KOLKATA_FOR_HOOLI],
            "schema": "custom-metrics",
            "title": "New",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    read = writer.get("/api/v1/configs/sales-ops/regions/").json()
    assert (read["version"], read["overrides"]) == (1, [KOLKATA_FOR_HOOLI])


def test_the_api_refuses_a_new_config_s_invalid_override_naming_it(alice):
    wrong = {**KOLKATA_FOR_HOOLI, "value": {"metrics": "none"}}
    response = _writer(alice, "sales-ops").post(
        "/api/v1/namespaces/sales-ops/configs/",
        {
            "key": "regions",
            "name": "Regions",
            "value": {"metrics": []},
            "overrides": [wrong],
            "schema": "custom-metrics",
            "title": "New",
        },
        format="json",
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["path"] == "/overrides/0/value/metrics"
    assert error["message"].startswith("hooli-itself: ")
    assert not Config.objects.filter(key="regions").exists()
