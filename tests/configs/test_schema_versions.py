"""Schemas have immutable, numbered versions; config versions name the one they were checked
against; the API and the console show them."""

import copy
import io
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from common.errors import SchemaInUse
from configs import environments, selectors, services
from configs.models import Config, SchemaVersion
from configs.selectors import versions_of
from reviews import services as review_services
from tests.api.conftest import client_for, make_token

SCHEMA_API = "/api/v1/schemas/company-timezones/"


def _with_owner_team(body, required=True, default=None):
    body = copy.deepcopy(body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team"}
    if default is not None:
        item["properties"]["owner_team"]["default"] = default
    if required:
        item["required"] = [*item.get("required", []), "owner_team"]
    return body


def _optional_note(body):
    body = copy.deepcopy(body)
    body["properties"]["note"] = {"type": "string", "title": "Note"}
    return body


def test_a_new_schema_starts_at_version_one_made_by_its_author(carol):
    schema = services.schema_create(
        name="holidays", body={"type": "object"}, actor=carol, reason="For the calendar"
    )

    version = schema.versions.get()
    assert (version.number, version.created_by, version.reason) == (1, carol, "For the calendar")
    assert version.body == {"type": "object"}


def test_changing_a_schema_adds_a_version_with_who_and_why(carol, timezones):
    schema = timezones.schema
    body = _optional_note(schema.body)

    services.schema_update(schema=schema, body=body, actor=carol, reason="Room for a note")

    newest = schema.versions.order_by("-number").first()
    assert (newest.number, newest.created_by, newest.reason) == (2, carol, "Room for a note")
    assert newest.body == body
    assert schema.versions.get(number=1).body != body


def test_changing_only_the_title_adds_no_version(carol, timezones):
    services.schema_update(
        schema=timezones.schema, body=timezones.schema.body, actor=carol, title="TZ"
    )

    assert timezones.schema.versions.count() == 1


def test_schema_versions_are_never_edited_or_deleted(timezones):
    version = timezones.schema.versions.get()
    version.body = {}
    with pytest.raises(ValueError):
        version.save()
    with pytest.raises(ValueError):
        version.delete()


def test_a_config_version_records_the_schema_version_it_was_checked_against(carol, bob, timezones):
    services.schema_update(
        schema=timezones.schema, body=_optional_note(timezones.schema.body), actor=carol
    )
    timezones = Config.objects.get(pk=timezones.pk)
    live = selectors.live_version(timezones)
    change = review_services.change_request_open(
        config=timezones,
        author=carol,
        value={**live.value, "note": "hi"},
        title="Add a note",
        base_version=live.number,
    )
    review_services.change_request_approve(change_request=change, reviewer=bob)
    version = review_services.change_request_publish(change_request=change, actor=bob)

    assert live.schema_version.number == 1
    assert version.schema_version.number == 2


def test_the_api_names_the_schema_version_of_a_config_read(alice, carol, bob, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    services.schema_update(
        schema=timezones.schema, body=_optional_note(timezones.schema.body), actor=carol
    )
    timezones = Config.objects.get(pk=timezones.pk)
    live = selectors.live_version(timezones)
    change = review_services.change_request_open(
        config=timezones,
        author=alice,
        value={**live.value, "note": "x"},
        title="Note",
        base_version=live.number,
    )
    review_services.change_request_approve(change_request=change, reviewer=bob)
    review_services.change_request_publish(change_request=change, actor=bob)

    api = client_for(secret)
    body = api.get("/api/v1/configs/data-pipelines/company-timezones/").json()
    assert (body["schema"], body["schema_version"]) == ("company-timezones", 2)
    old = api.get("/api/v1/configs/data-pipelines/company-timezones/", {"version": 1}).json()
    assert old["schema_version"] == 1


def test_the_schema_api_gives_the_newest_version_or_a_pinned_one(alice, carol, timezones):
    _token, secret = make_token(alice, "data-pipelines")
    first = copy.deepcopy(timezones.schema.body)
    services.schema_update(
        schema=timezones.schema, body=_optional_note(first), actor=carol, reason="A note"
    )
    api = client_for(secret)

    newest = api.get(SCHEMA_API).json()
    assert newest["version"] == 2
    assert newest["schema"]["properties"]["note"]["title"] == "Note"
    assert (newest["created_by"], newest["reason"], newest["configs"]) == ("carol", "A note", 1)
    pinned = api.get(SCHEMA_API, {"version": 1}).json()
    assert (pinned["version"], pinned["schema"]) == (1, first)


@pytest.mark.parametrize(
    "url, params, status",
    [
        (SCHEMA_API, {"version": "3"}, 404),
        (SCHEMA_API, {"version": "two"}, 400),
        ("/api/v1/schemas/no-such-schema/", {}, 404),
    ],
)
def test_the_schema_api_refuses_what_it_does_not_have(alice, url, params, status):
    _token, secret = make_token(alice, "data-pipelines")
    response = client_for(secret).get(url, params)

    assert response.status_code == status
    assert "detail" in response.json()


def test_the_schema_api_needs_a_token(demo):
    assert client_for().get(SCHEMA_API).status_code == 401


def test_the_schema_history_page_compares_two_versions_in_words(client, carol, timezones):
    services.schema_update(
        schema=timezones.schema,
        body=_with_owner_team(timezones.schema.body, required=False),
        actor=carol,
        reason="Who owns each company",
    )
    client.force_login(carol)

    page = client.get("/schemas/company-timezones/history/", {"from": 1, "to": 2})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Companies → item: new optional field Owner team" in text
    assert "Who owns each company" in text


def test_the_schema_page_shows_a_pinned_version(client, dave, carol, timezones):
    services.schema_update(
        schema=timezones.schema, body=_optional_note(timezones.schema.body), actor=carol
    )
    client.force_login(dave)

    assert "not the newest" in client.get("/schemas/company-timezones/?version=1").content.decode()
    assert client.get("/schemas/company-timezones/?version=9").status_code == 404


def test_a_schema_is_checked_against_live_and_scheduled_values_in_one_query(
    carol, timezones, django_assert_num_queries
):
    live = selectors.live_version(timezones)
    for n in range(5):
        services.config_create(
            namespace=timezones.namespace,
            key=f"copy-{n}",
            name=f"Copy {n}",
            value=live.value,
            actor=carol,
            schema=timezones.schema,
        )
    body = _with_owner_team(timezones.schema.body)

    with mock.patch("configs.selectors.value_problems", wraps=selectors.value_problems) as check:
        with django_assert_num_queries(1):
            problems = selectors.schema_breakage(schema=timezones.schema, body=body)

    # every config's live value, in each environment, lacks the owner team…
    assert len(problems) == 6 * len(environments.every())
    # …and each distinct value was checked once: the one they share, and the demo's staging
    # value of company-timezones (one company more).
    assert check.call_count == 2


def test_a_scheduled_version_replaced_at_the_same_instant_does_not_count(carol, metrics):
    later = timezone.now() + timedelta(days=1)
    live = selectors.live_version(metrics)
    broken = {"not": "metrics"}
    with mock.patch("configs.services.versions.value_errors", return_value=[]):
        from django.db import transaction

        with transaction.atomic():
            services.version_publish(
                config=metrics,
                value=broken,
                base_number=live.number,
                actor=carol,
                effective_at=later,
            )
            services.version_publish(
                config=metrics,
                value=live.value,
                base_number=live.number + 1,
                actor=carol,
                effective_at=later,
            )

    assert selectors.schema_breakage(schema=metrics.schema, body=metrics.schema.body) == {}


def test_a_breaking_schema_change_is_still_refused_naming_the_config(carol, timezones):
    with pytest.raises(SchemaInUse) as refused:
        services.schema_update(
            schema=timezones.schema, body=_with_owner_team(timezones.schema.body), actor=carol
        )

    assert list(refused.value.problems) == [
        "data-pipelines/company-timezones@development v1",
        "data-pipelines/company-timezones@staging v2",
        "data-pipelines/company-timezones v1",
    ]
    assert SchemaVersion.objects.filter(schema=timezones.schema).count() == 1
    assert Config.objects.get(pk=timezones.pk).schema.body == timezones.schema.body


def test_the_demo_s_schemas_start_at_version_one_and_its_values_name_it(demo):
    for config in Config.objects.exclude(schema=None):
        assert config.schema.versions.count() == 1
        assert {v.schema_version.number for v in versions_of(config).all()} == {1}


def test_an_imported_schema_change_is_proposed_for_review_never_saved_in_place(
    carol, bob, timezones, tmp_path
):
    from django.core.management import call_command

    from reviews import services as review_services
    from reviews.models import ChangeRequest

    call_command("export_configs", str(tmp_path))
    path = tmp_path / "schemas" / "company-timezones.json"
    data = json.loads(path.read_text())
    data["body"] = _optional_note(data["body"])
    path.write_text(json.dumps(data))
    out = io.StringIO()

    call_command("import_configs", str(tmp_path), "--user", "carol", stdout=out)

    assert timezones.schema.versions.count() == 1
    change = ChangeRequest.objects.get(changes__schema=timezones.schema)
    assert (change.status, change.author) == ("in_review", carol)
    assert f"proposed in schema change #{change.pk}" in out.getvalue()
    again = io.StringIO()
    call_command("import_configs", str(tmp_path), "--user", "carol", stdout=again)
    assert f"already proposed in schema change #{change.pk}" in again.getvalue()
    assert ChangeRequest.objects.filter(changes__schema=timezones.schema).count() == 1

    review_services.change_request_approve(change_request=change, reviewer=bob)
    review_services.change_request_publish(change_request=change, actor=bob)
    newest = timezones.schema.versions.order_by("-number").first()
    assert (newest.number, newest.created_by) == (2, bob)
    assert "note" in newest.body["properties"]


def test_an_imported_breaking_schema_carries_the_folders_values_and_may_bypass(
    carol, timezones, tmp_path
):
    from django.core.management import call_command

    call_command("export_configs", str(tmp_path))
    schema_path = tmp_path / "schemas" / "company-timezones.json"
    data = json.loads(schema_path.read_text())
    item = data["body"]["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team"}
    item["required"].append("owner_team")
    schema_path.write_text(json.dumps(data))
    # The value in every environment's file: configs/ (the default one's) and environments/.
    config_paths = [tmp_path / "configs" / "data-pipelines" / "company-timezones.json"] + sorted(
        tmp_path.glob("environments/*/data-pipelines/company-timezones.json")
    )
    assert len(config_paths) == 3
    for config_path in config_paths:
        config = json.loads(config_path.read_text())
        for company in config["value"]["companies"]:
            company["owner_team"] = "growth"
        config_path.write_text(json.dumps(config))
    out = io.StringIO()

    call_command(
        "import_configs",
        str(tmp_path),
        "--user",
        "carol",
        "--bypass-reason",
        "Owner teams for the audit",
        stdout=out,
    )

    assert "schema company-timezones: published as version 2 (bypass)" in out.getvalue()
    assert "data-pipelines/company-timezones: unchanged" in out.getvalue()
    live = selectors.live_version(timezones)
    assert live.schema_version.number == 2
    assert {c["owner_team"] for c in live.value["companies"]} == {"growth"}
    assert live.bypass_reason == "Owner teams for the audit"


def test_an_older_folder_s_value_stands_only_for_environments_equal_to_the_default(
    carol, timezones, tmp_path
):
    import shutil

    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("export_configs", str(tmp_path))
    # A folder exported before environments: configs/ only. Development's value is
    # production's, so the file's value stands for it too; staging's differs (the demo's has
    # one company more), and the folder cannot say what it should become.
    shutil.rmtree(tmp_path / "environments")
    schema_path = tmp_path / "schemas" / "company-timezones.json"
    data = json.loads(schema_path.read_text())
    item = data["body"]["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "title": "Owner team"}
    item["required"].append("owner_team")
    schema_path.write_text(json.dumps(data))
    config_path = tmp_path / "configs" / "data-pipelines" / "company-timezones.json"
    config = json.loads(config_path.read_text())
    for company in config["value"]["companies"]:
        company["owner_team"] = "growth"
    config_path.write_text(json.dumps(config))

    with pytest.raises(CommandError) as refused:
        call_command("import_configs", str(tmp_path), "--user", "carol", stdout=io.StringIO())

    assert "data-pipelines/company-timezones@staging" in str(refused.value)
    assert "company-timezones@development" not in str(refused.value)
    assert selectors.live_version(timezones).schema_version.number == 1
