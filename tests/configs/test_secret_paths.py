"""Every path that stores a value refuses credentials, names the path, says where secrets belong,
and keeps nothing of the refused value (not even in the audit log)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from common.errors import InvalidValue
from configs import environments
from configs.models import Config, Version
from configs.selectors import versions_of
from configs.services import config_create
from reviews.models import Change, ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import in_every_environment

LEGACY = "/configs/sales-ops/legacy-fields/"
SECRET = "hunter2-" + "correct-horse"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"


def nothing_kept():
    """No version, change request or audit event holds the refused value."""
    stored = [json.dumps(v) for v in Version.objects.values_list("value", flat=True)]
    stored += [json.dumps(v) for v in Change.objects.values_list("value", flat=True)]
    # A schema change's proposed schema is a change too.
    stored += [json.dumps(b) for b in Change.objects.values_list("body", flat=True)]
    stored += [json.dumps(e.details) + e.reason for e in AuditEvent.objects.all()]
    return not any(SECRET in text or AWS_KEY in text for text in stored)


def test_the_api_refuses_a_password_naming_the_path(alice, demo):
    _token, secret = make_token(alice, "sales-ops", write=True)
    events = AuditEvent.objects.count()

    response = client_for(secret).post(
        "/api/v1/configs/sales-ops/legacy-fields/change-requests/",
        {"value": {"db": {"password": SECRET}}, "base_version": 1, "title": "Add the db"},
        format="json",
    )

    assert response.status_code == 400
    [problem] = response.json()["errors"]
    assert problem["path"] == "/db/password"
    assert "secret store" in problem["message"]
    assert AuditEvent.objects.count() == events
    assert nothing_kept()


def test_the_api_refuses_a_credential_format_under_any_key(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines", write=True)
    value = json.loads(json.dumps(versions_of(timezones).get(number=1).value))
    value["companies"][0]["name"] = AWS_KEY

    response = client_for(secret).post(
        "/api/v1/configs/data-pipelines/company-timezones/change-requests/",
        {"value": value, "base_version": 1, "title": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert {p["path"] for p in response.json()["errors"]} >= {"/companies/0/name"}
    assert nothing_kept()


def test_the_console_refuses_a_credential_and_shows_where_secrets_belong(client, alice):
    client.force_login(alice)

    response = client.post(
        f"{LEGACY}edit/",
        {
            "editor": "raw",
            "raw": json.dumps({"api_key": SECRET}),
            "title": "Add a key",
            "base_version": 1,
            "confirmed": "1",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "/api_key" in page
    assert "secret store" in page
    # still version 1 alone, in each environment
    assert Version.objects.filter(config__key="legacy-fields").count() == len(environments.every())
    assert nothing_kept()


def test_creating_a_config_refuses_a_credential(carol, demo):
    from configs.models import Namespace

    with pytest.raises(InvalidValue) as refused:
        config_create(
            namespace=Namespace.objects.get(slug="sales-ops"),
            key="crm",
            name="CRM",
            value={"endpoint": f"postgres://crm:{SECRET}@db.internal/crm"},
            schema=None,
            actor=carol,
        )

    assert refused.value.errors[0]["path"] == "/endpoint"
    assert not Config.objects.filter(key="crm").exists()
    assert nothing_kept()


def test_import_refuses_a_credential_naming_the_file_and_path(demo, tmp_path):
    call_command("export_configs", str(tmp_path), stdout=StringIO())
    path = tmp_path / "configs" / "sales-ops" / "legacy-fields.json"
    data = json.loads(path.read_text())
    data["value"] = {"token": SECRET}
    path.write_text(json.dumps(data))

    with pytest.raises(CommandError) as refused:
        call_command("import_configs", str(tmp_path), "--user", "carol", stdout=StringIO())

    error = str(refused.value)
    assert "legacy-fields.json" in error
    assert "/token" in error
    assert "nothing was imported" in error
    assert nothing_kept()


def test_the_demo_keeps_its_credential_refs(demo):
    for version in Version.objects.filter(config__key="warehouse-connections", number=1):
        value = version.value  # in each environment
        assert value["connections"][0]["credential_ref"].startswith("vault://")

    assert value["connections"][0]["credential_ref"].startswith("vault://")


def test_a_schema_change_refuses_a_credential_in_a_value_given(carol, timezones):
    import copy

    from reviews import services as review_services
    from reviews.kinds.schema import InvalidValues

    body = copy.deepcopy(timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["api_key"] = {"type": "string"}
    item["required"] = [*item["required"], "api_key"]
    value = copy.deepcopy(versions_of(timezones).get(number=1).value)
    for company in value["companies"]:
        company["api_key"] = SECRET

    with pytest.raises(InvalidValues) as refused:
        review_services.schema_change_open(
            schema=timezones.schema,
            author=carol,
            body=body,
            base_version=1,
            title="Keys",
            values=in_every_environment("data-pipelines/company-timezones", value),
        )

    errors = refused.value.errors
    assert {e["config"].partition("@")[0] for e in errors} == {"data-pipelines/company-timezones"}
    assert "/companies/0/api_key" in {e["path"] for e in errors}
    assert "secret store" in errors[0]["message"]
    assert nothing_kept()


def test_a_schema_change_refuses_a_credential_as_a_default(carol, timezones):
    import copy

    from django.core.exceptions import ValidationError

    from reviews import services as review_services

    body = copy.deepcopy(timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["api_key"] = {"type": "string", "default": SECRET}

    with pytest.raises(ValidationError) as refused:
        review_services.schema_change_open(
            schema=timezones.schema, author=carol, body=body, base_version=1, title="Keys"
        )

    assert "/properties/companies/items/properties/api_key/default" in refused.value.messages[0]
    assert nothing_kept()


# --- texts stored beside values ----------------------------------------------------------------


def test_a_change_request_title_or_description_holding_a_credential_is_refused(alice, demo):
    _token, secret = make_token(alice, "sales-ops", write=True)
    api = client_for(secret)
    url = "/api/v1/configs/sales-ops/legacy-fields/change-requests/"

    for fields in ({"title": f"Rotate {AWS_KEY}"}, {"title": "x", "description": AWS_KEY}):
        response = api.post(
            url, {"value": {"a": 1}, "base_version": 1, "title": "t", **fields}, format="json"
        )
        assert response.status_code == 400
        assert "credential" in response.json()["detail"]

    assert not ChangeRequest.objects.exists()
    assert nothing_kept()


def test_a_comment_holding_a_credential_is_refused(alice, bob, timezones):
    from django.core.exceptions import ValidationError

    from reviews import services
    from tests.values import with_company

    change_request = services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "hooli"),
        title="Add hooli",
        base_version=1,
    )

    with pytest.raises(ValidationError):
        services.change_request_comment(
            change_request=change_request, actor=bob, body=f"the key is {AWS_KEY}"
        )
    with pytest.raises(ValidationError):
        services.change_request_approve(
            change_request=change_request, reviewer=bob, comment=f"use {AWS_KEY}"
        )

    assert nothing_kept()


# --- exemptions: one place, reviewed, shown --------------------------------------------------

FIXTURES = {
    "type": "object",
    "properties": {
        "fixtures": {
            "type": "object",
            "properties": {"key": {"type": "string", "x-not-secret": True}},
            "additionalProperties": {"type": "string"},
        }
    },
}


def test_an_exemption_covers_its_own_path_and_nothing_else():
    from configs.secrets import secret_problems

    value = {"fixtures": {"key": AWS_KEY, "other": AWS_KEY}}

    assert [p["path"] for p in secret_problems(value, FIXTURES)] == ["/fixtures/other"]


def test_an_exemption_on_an_object_does_not_reach_what_it_holds():
    from configs.secrets import secret_problems

    schema = {"type": "object", "properties": {"fixtures": {"x-not-secret": True}}}

    problems = secret_problems({"fixtures": {"password": SECRET}}, schema)

    assert [p["path"] for p in problems] == ["/fixtures/password"]


def test_a_schema_cannot_exempt_the_whole_value(carol, demo):
    from configs.services import schema_create
    from configs.validation import InvalidSchema, check_schema

    with pytest.raises(InvalidSchema, match="cannot exempt the whole value"):
        check_schema({"type": "object", "x-not-secret": True})
    with pytest.raises(Exception, match="cannot exempt the whole value"):
        schema_create(
            name="anything-goes", body={"type": "object", "x-not-secret": True}, actor=carol
        )


def test_an_exemption_is_said_in_words_in_the_schema_change(client, carol, timezones):
    import copy

    from reviews import services as review_services

    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["fixtures"] = FIXTURES["properties"]["fixtures"]
    change = review_services.schema_change_open(
        schema=timezones.schema, author=carol, body=body, base_version=1, title="Fixtures"
    )
    client.force_login(carol)

    page = client.get(change.get_absolute_url()).content.decode()

    assert "allows a secret-looking value at /fixtures/key" in page.lower()


def test_the_config_page_shows_its_exempt_paths(client, alice, carol, timezones):
    import copy

    from configs.services import schema_update

    body = copy.deepcopy(timezones.schema.body)
    body["properties"]["companies"]["items"]["properties"]["company_id"]["x-not-secret"] = True
    schema_update(schema=timezones.schema, body=body, actor=carol, reason="ids look like keys")
    client.force_login(alice)

    page = client.get("/configs/data-pipelines/company-timezones/").content.decode()

    assert "May look like a credential" in page
    assert "/companies/*/company_id" in page


def test_import_refuses_a_schema_file_holding_a_credential(demo, tmp_path):
    call_command("export_configs", str(tmp_path), stdout=StringIO())
    path = tmp_path / "schemas" / "company-timezones.json"
    data = json.loads(path.read_text())
    data["body"]["properties"]["note"] = {"type": "string", "default": AWS_KEY}
    path.write_text(json.dumps(data))

    with pytest.raises(CommandError) as refused:
        call_command("import_configs", str(tmp_path), "--user", "carol", stdout=StringIO())

    assert "company-timezones.json" in str(refused.value)
    assert "/properties/note/default" in str(refused.value)
    assert nothing_kept()


def test_a_refused_credential_reaches_no_log_and_no_e_mail(alice, demo, caplog, mailoutbox):
    _token, secret = make_token(alice, "sales-ops", write=True)
    api = client_for(secret)
    url = "/api/v1/configs/sales-ops/legacy-fields/change-requests/"

    with caplog.at_level("DEBUG"):
        for body in (
            {"value": {"db": {"password": SECRET}}, "base_version": 1, "title": "Add the db"},
            {"value": {"a": 1}, "base_version": 1, "title": f"Rotate {AWS_KEY}"},
        ):
            assert api.post(url, body, format="json").status_code == 400

    assert SECRET not in caplog.text and AWS_KEY not in caplog.text
    assert not any(AWS_KEY in m.subject + m.body or SECRET in m.body for m in mailoutbox)
    assert nothing_kept()
