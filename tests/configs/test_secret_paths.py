"""Every path that stores a value refuses credentials, names the path, says where secrets belong,
and keeps nothing of the refused value (not even in the audit log)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from configs.errors import InvalidValue
from configs.models import Config, Version
from configs.services import config_create
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token

LEGACY = "/configs/sales-ops/legacy-fields/"
SECRET = "hunter2-" + "correct-horse"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"


def nothing_kept():
    """No version, change request or audit event holds the refused value."""
    stored = [json.dumps(v) for v in Version.objects.values_list("value", flat=True)]
    stored += [json.dumps(v) for v in ChangeRequest.objects.values_list("value", flat=True)]
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
    value = json.loads(json.dumps(timezones.versions.get(number=1).value))
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
    assert Version.objects.filter(config__key="legacy-fields").count() == 1
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
    value = Version.objects.get(config__key="warehouse-connections", number=1).value

    assert value["connections"][0]["credential_ref"].startswith("vault://")


def test_a_schema_change_refuses_a_credential_in_a_value_given_or_filled_in(carol, timezones):
    import copy

    from reviews import schema_changes
    from reviews.schema_changes import InvalidValues

    body = copy.deepcopy(timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["api_key"] = {"type": "string", "default": SECRET}
    item["required"] = [*item["required"], "api_key"]

    with pytest.raises(InvalidValues) as refused:
        schema_changes.schema_change_open(
            schema=timezones.schema, author=carol, body=body, base_version=1, title="Keys"
        )

    errors = refused.value.errors
    assert {e["config"] for e in errors} == {"data-pipelines/company-timezones"}
    assert "/companies/0/api_key" in {e["path"] for e in errors}
    assert "secret store" in errors[0]["message"]
    assert nothing_kept()
