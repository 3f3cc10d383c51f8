"""`manage.py export_configs` and `import_configs`: a folder of JSON files for backup and review
in git; import proposes changes through the review gate and never overwrites history."""

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from configs import environments
from configs.models import Config, Schema, Version
from configs.selectors import versions_of
from reviews.models import ChangeRequest
from reviews.services import change_request_open, change_request_publish

DEMO_FILES = [
    "configs/data-pipelines/company-timezones.json",
    "configs/data-pipelines/warehouse-connections.json",
    "configs/sales-ops/custom-metrics.json",
    "configs/sales-ops/legacy-fields.json",
    # Each other environment's values, in a folder of its own.
    "environments/development/data-pipelines/company-timezones.json",
    "environments/development/data-pipelines/warehouse-connections.json",
    "environments/development/sales-ops/custom-metrics.json",
    "environments/development/sales-ops/legacy-fields.json",
    "environments/staging/data-pipelines/company-timezones.json",
    "environments/staging/data-pipelines/warehouse-connections.json",
    "environments/staging/sales-ops/custom-metrics.json",
    "environments/staging/sales-ops/legacy-fields.json",
    "namespaces/data-pipelines.json",
    "namespaces/sales-ops.json",
    "schemas/company-timezones.json",
    "schemas/custom-metrics.json",
    "schemas/warehouse-connections.json",
]


def _export(directory: Path, *args) -> Path:
    call_command("export_configs", str(directory), *args, stdout=StringIO())
    return directory


def _import(directory: Path, *args) -> str:
    out = StringIO()
    call_command("import_configs", str(directory), *args, stdout=out)
    return out.getvalue()


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*.json"))
    }


def _config_file(directory: Path, namespace: str, key: str) -> Path:
    return directory / "configs" / namespace / f"{key}.json"


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _drop_last_company(data):
    data["value"]["companies"].pop()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Config, Schema, Version, ChangeRequest, AuditEvent)
    }


# --- export ---------------------------------------------------------------------------------


def test_export_writes_one_file_per_namespace_schema_and_config(demo, tmp_path):
    directory = _export(tmp_path / "backup")

    assert sorted(_files(directory)) == DEMO_FILES
    data = json.loads(_config_file(directory, "sales-ops", "custom-metrics").read_text())
    config = Config.objects.get(namespace__slug="sales-ops", key="custom-metrics")
    assert data == {
        "namespace": "sales-ops",
        "key": "custom-metrics",
        "name": config.name,
        "description": config.description,
        "schema": "custom-metrics",
        "schema_version": 1,
        "owners": ["carol"],
        "version": 1,
        "value": versions_of(config).get().value,
        "overrides": versions_of(config).get().overrides,
    }
    legacy = json.loads(_config_file(directory, "sales-ops", "legacy-fields").read_text())
    assert legacy["schema"] is None
    schema = json.loads((directory / "schemas/company-timezones.json").read_text())
    assert schema["body"] == Schema.objects.get(name="company-timezones").body
    assert schema["version"] == 1
    namespace = json.loads((directory / "namespaces/data-pipelines.json").read_text())
    assert namespace["required_approvals"] == 1


def test_exporting_twice_gives_identical_sorted_bytes(demo, tmp_path):
    first = _files(_export(tmp_path / "one"))
    second = _files(_export(tmp_path / "two"))

    assert first == second
    for name, content in first.items():
        text = content.decode()
        data = json.loads(text)
        # Keys sorted at every depth, but for a schema's body: its author's order (its form's).
        expected = {
            key: value if key == "body" else json.loads(json.dumps(value, sort_keys=True))
            for key, value in sorted(data.items())
        }
        assert text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n", name
        body = data.get("body")
        if body is not None:
            schema = Schema.objects.get(name=data["name"])
            assert list(body) == list(schema.body), name
            assert list(body["properties"]) == list(schema.body["properties"]), name


def test_export_shows_the_live_value_after_a_publish(metrics, carol, tmp_path):
    value = {"metrics": []}
    change_request_open(
        config=metrics, author=carol, value=value, title="Empty", base_version=1, publish=True
    )

    data = json.loads(
        _config_file(_export(tmp_path / "after"), "sales-ops", "custom-metrics").read_text()
    )
    assert (data["version"], data["value"]) == (2, value)


def test_export_of_one_namespace_holds_only_its_configs_and_schemas(demo, tmp_path):
    directory = _export(tmp_path / "backup", "--namespace", "sales-ops")

    assert sorted(_files(directory)) == [
        "configs/sales-ops/custom-metrics.json",
        "configs/sales-ops/legacy-fields.json",
        "environments/development/sales-ops/custom-metrics.json",
        "environments/development/sales-ops/legacy-fields.json",
        "environments/staging/sales-ops/custom-metrics.json",
        "environments/staging/sales-ops/legacy-fields.json",
        "namespaces/sales-ops.json",
        "schemas/custom-metrics.json",
    ]


def test_export_of_an_unknown_namespace_is_refused(demo, tmp_path):
    with pytest.raises(CommandError, match="No namespace named nope"):
        _export(tmp_path / "backup", "--namespace", "nope")


# --- import: the round trip -----------------------------------------------------------------


def test_importing_an_unchanged_export_changes_nothing(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    before = _counts()

    output = _import(directory, "--user", "alice")

    assert _counts() == before
    assert "0 proposed for review" in output
    assert "12 unchanged" in output  # 4 configs in 3 environments


def test_a_changed_value_becomes_one_change_request_in_review(timezones, alice, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    versions_before = Version.objects.count()

    output = _import(directory, "--user", "alice")

    change_request = ChangeRequest.objects.get()
    assert change_request.config == timezones
    assert change_request.author == alice
    assert change_request.status == ChangeRequest.Status.IN_REVIEW
    assert change_request.base_version.number == 1
    assert [c["company_id"] for c in change_request.value["companies"]] == ["acme", "globex"]
    assert change_request.title == "Import from backup"
    assert Version.objects.count() == versions_before
    assert f"change request #{change_request.pk}" in output
    assert change_request.get_absolute_url() in output
    assert "1 proposed for review" in output
    assert "3 unchanged" in output


def test_importing_the_same_change_twice_proposes_it_once(timezones, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    _import(directory, "--user", "alice")

    output = _import(directory, "--user", "alice")

    assert ChangeRequest.objects.count() == 1
    assert "already proposed in change request" in output


def test_a_changed_key_order_is_not_a_change(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    path = _config_file(directory, "sales-ops", "legacy-fields")
    data = json.loads(path.read_text())
    data["value"] = dict(reversed(list(data["value"].items())))
    path.write_text(json.dumps(data))

    _import(directory, "--user", "alice")

    assert ChangeRequest.objects.count() == 0


def test_an_editor_s_metadata_changes_are_reported_not_imported(timezones, tmp_path):
    directory = _export(tmp_path / "backup")

    def rename(data):
        data["name"] = "Something else"
        data["owners"] = ["alice"]

    _edit(_config_file(directory, "data-pipelines", "company-timezones"), rename)

    output = _import(directory, "--user", "alice")

    timezones.refresh_from_db()
    assert timezones.name != "Something else"
    assert list(timezones.owners.values_list("username", flat=True)) == ["bob"]
    assert "data-pipelines/company-timezones: name, owners in the file differ" in output
    assert "needs the admin role in data-pipelines" in output


def test_an_admin_imports_metadata_changes_audited(timezones, carol, tmp_path):
    directory = _export(tmp_path / "backup")

    def rename(data):
        data["name"] = "Company time zones (all regions)"
        data["owners"] = ["alice", "bob"]

    _edit(_config_file(directory, "data-pipelines", "company-timezones"), rename)

    output = _import(directory, "--user", "carol")

    timezones.refresh_from_db()
    assert timezones.name == "Company time zones (all regions)"
    assert sorted(timezones.owners.values_list("username", flat=True)) == ["alice", "bob"]
    assert "data-pipelines/company-timezones: name, owners changed" in output
    event = AuditEvent.objects.get(action="config.changed")
    assert event.actor == carol
    assert event.details["changes"]["owners"]["after"] == ["alice", "bob"]


# --- publishing: only when asked ------------------------------------------------------------


def test_an_admin_bypass_publishes_a_new_version_recorded_as_bypass(timezones, carol, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    first = versions_of(timezones).get()

    output = _import(directory, "--user", "carol", "--bypass-reason", "Restore after incident 42")

    version = versions_of(timezones).get(number=2)
    assert version.is_bypass
    assert version.bypass_reason == "Restore after incident 42"
    assert version.published_by == carol
    assert [c["company_id"] for c in version.value["companies"]] == ["acme", "globex"]
    assert ChangeRequest.objects.get().status == ChangeRequest.Status.PUBLISHED
    assert AuditEvent.objects.filter(
        action="version.bypass", reason="Restore after incident 42"
    ).exists()
    # History is kept: version 1 is still there, untouched.
    assert Version.objects.get(pk=first.pk).value == first.value
    assert "published as version 2 (bypass)" in output


def test_an_editor_cannot_bypass_and_nothing_is_saved(timezones, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    before = _counts()

    with pytest.raises(CommandError, match="admin role in data-pipelines") as raised:
        _import(directory, "--user", "alice", "--bypass-reason", "I am in a hurry")

    assert "company-timezones.json" in str(raised.value)
    assert _counts() == before


def test_a_blank_bypass_reason_is_refused(demo, tmp_path):
    with pytest.raises(CommandError, match="reason"):
        _import(_export(tmp_path / "backup"), "--user", "carol", "--bypass-reason", "  ")


def test_publish_publishes_only_where_no_approval_is_needed(timezones, metrics, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    _edit(
        _config_file(directory, "sales-ops", "custom-metrics"),
        lambda data: data["value"]["metrics"].pop(),
    )

    output = _import(directory, "--user", "alice", "--publish")

    assert versions_of(metrics).count() == 2
    assert not versions_of(metrics).get(number=2).is_bypass
    assert versions_of(timezones).count() == 1
    pending = ChangeRequest.objects.get(changes__config=timezones)
    assert pending.status == ChangeRequest.Status.IN_REVIEW
    assert "1 published" in output
    assert "needs 1 more approval" in output


def test_a_viewer_cannot_propose(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)

    with pytest.raises(CommandError, match="editor role in data-pipelines"):
        _import(directory, "--user", "dave")

    assert ChangeRequest.objects.count() == 0


def test_an_unknown_user_is_refused(demo, tmp_path):
    with pytest.raises(CommandError, match="No active user named 'mallory'"):
        _import(_export(tmp_path / "backup"), "--user", "mallory")


def test_a_stale_export_is_refused_instead_of_undoing_newer_changes(metrics, carol, tmp_path):
    directory = _export(tmp_path / "backup")
    change_request_open(
        config=metrics,
        author=carol,
        value={"metrics": []},
        title="Clear",
        base_version=1,
        publish=True,
    )
    _edit(
        _config_file(directory, "sales-ops", "custom-metrics"),
        lambda data: data["value"]["metrics"].pop(),
    )

    with pytest.raises(
        CommandError,
        match="exported at version 1, but sales-ops/custom-metrics is now at version 2",
    ):
        _import(directory, "--user", "alice")

    assert ChangeRequest.objects.count() == 1


def test_an_export_taken_while_a_version_waits_says_how_to_go_on(metrics, carol, tmp_path):
    cr = change_request_open(
        config=metrics, author=carol, value={"metrics": []}, title="Clear", base_version=1
    )
    change_request_publish(
        change_request=cr, actor=carol, effective_at=timezone.now() + timedelta(days=1)
    )
    directory = _export(tmp_path / "backup")  # holds the live version 1
    _edit(
        _config_file(directory, "sales-ops", "custom-metrics"),
        lambda data: data["value"]["metrics"].pop(),
    )

    with pytest.raises(CommandError, match="version 2 scheduled for .* Cancel the scheduled"):
        _import(directory, "--user", "alice")


def test_without_a_version_the_change_is_proposed_on_the_newest(metrics, carol, tmp_path):
    directory = _export(tmp_path / "backup")
    change_request_open(
        config=metrics,
        author=carol,
        value={"metrics": []},
        title="Clear",
        base_version=1,
        publish=True,
    )

    def change(data):
        data["value"]["metrics"].pop()
        del data["version"]

    _edit(_config_file(directory, "sales-ops", "custom-metrics"), change)

    _import(directory, "--user", "alice")

    proposed = ChangeRequest.objects.get(author__username="alice")
    assert proposed.base_version.number == 2


def test_a_dry_run_reports_and_saves_nothing(timezones, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    before = _counts()

    output = _import(directory, "--user", "carol", "--bypass-reason", "Restore", "--dry-run")

    assert _counts() == before
    assert "would be published as version 2 (bypass)" in output
    assert "Nothing was saved" in output


# --- new configs and schemas ----------------------------------------------------------------


def _new_config(directory: Path, key: str = "regions", **fields) -> Path:
    path = _config_file(directory, "sales-ops", key)
    data = {
        "namespace": "sales-ops",
        "key": key,
        "name": "Regions",
        "schema": None,
        "owners": ["carol"],
        "value": {"emea": ["de", "fr"]},
        **fields,
    }
    path.write_text(json.dumps(data))
    return path


def test_an_admin_creates_a_new_config_at_version_one(demo, carol, tmp_path):
    directory = _export(tmp_path / "backup")
    _new_config(directory)

    output = _import(directory, "--user", "carol")

    config = Config.objects.get(namespace__slug="sales-ops", key="regions")
    assert versions_of(config).get().value == {"emea": ["de", "fr"]}
    assert list(config.owners.all()) == [carol]
    assert "sales-ops/regions: created at version 1" in output


def test_an_editor_cannot_create_a_config(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    _new_config(directory)

    with pytest.raises(CommandError, match="admin role in sales-ops to create configs"):
        _import(directory, "--user", "alice")

    assert not Config.objects.filter(key="regions").exists()


def test_a_config_in_an_unknown_namespace_is_refused_naming_the_file(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    path = directory / "configs" / "marketing" / "regions.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps({"namespace": "marketing", "key": "regions", "name": "R", "value": {}})
    )

    with pytest.raises(CommandError, match="no namespace 'marketing'") as raised:
        _import(directory, "--user", "carol")

    assert str(path) in str(raised.value)
    assert not Config.objects.filter(key="regions").exists()


def test_a_new_schema_is_created_and_a_new_config_can_use_it(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    (directory / "schemas" / "regions.json").write_text(
        json.dumps(
            {"name": "regions", "title": "Regions", "description": "", "body": {"type": "object"}}
        )
    )
    _new_config(directory, schema="regions")

    output = _import(directory, "--user", "carol")

    assert Config.objects.get(key="regions").schema.name == "regions"
    assert "schema regions: created" in output


def test_a_breaking_schema_change_is_refused_naming_the_config(demo, tmp_path):
    directory = _export(tmp_path / "backup")

    def require_a_field(data):
        data["body"]["required"] = ["not_there"]

    _edit(directory / "schemas" / "custom-metrics.json", require_a_field)
    before = Schema.objects.get(name="custom-metrics").body

    with pytest.raises(
        CommandError, match="would reject the value of sales-ops/custom-metrics"
    ) as raised:
        _import(directory, "--user", "carol")

    assert "custom-metrics.json" in str(raised.value)
    assert "Not there is required." in str(raised.value)
    assert Schema.objects.get(name="custom-metrics").body == before


def test_a_compatible_schema_change_is_applied(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(directory / "schemas" / "custom-metrics.json", lambda d: d.update(title="Metrics"))

    output = _import(directory, "--user", "carol")

    assert Schema.objects.get(name="custom-metrics").title == "Metrics"
    assert "schema custom-metrics: title and description changed" in output


# --- bad files: a clear error naming the file, and nothing saved ----------------------------


def _replace_value_text(path: Path, text: str) -> None:
    data = json.loads(path.read_text())
    data["value"] = "__VALUE__"
    path.write_text(json.dumps(data).replace('"__VALUE__"', text))


def _bad_json(path):
    path.write_text('{"namespace": "sales-ops",')


def _nan(path):
    _replace_value_text(path, '{"metrics": [], "x": NaN}')


def _duplicate_key(path):
    _replace_value_text(path, '{"metrics": [], "metrics": []}')


def _missing_value(path):
    _edit(path, lambda data: data.pop("value"))


def _misspelt_field(path):
    _edit(path, lambda data: data.update(vaule=1))


def _wrong_place(path):
    _edit(path, lambda data: data.update(key="legacy-fields"))


def _invalid_value(path):
    _edit(path, lambda data: data["value"]["metrics"][0].update(kind="median"))


def _unknown_owner(path):
    _edit(path, lambda data: data.update(owners=["mallory"]))


@pytest.mark.parametrize(
    "spoil, message",
    [
        (_bad_json, "not valid JSON"),
        (_nan, "NaN is not allowed"),
        (_duplicate_key, "appears twice"),
        (_missing_value, "'value' is missing"),
        (_misspelt_field, "unknown field 'vaule'"),
        (_wrong_place, "its place in the folder"),
        (_invalid_value, "at /metrics/0/kind"),
        (_unknown_owner, "no user named mallory"),
    ],
)
def test_a_bad_file_is_refused_naming_it_and_nothing_is_imported(demo, tmp_path, spoil, message):
    directory = _export(tmp_path / "backup")
    # A good change elsewhere: the import is all or nothing, so it is not made either.
    _edit(_config_file(directory, "data-pipelines", "company-timezones"), _drop_last_company)
    bad = _config_file(directory, "sales-ops", "custom-metrics")
    spoil(bad)
    before = _counts()

    with pytest.raises(CommandError) as raised:
        _import(directory, "--user", "carol")

    error = str(raised.value)
    assert str(bad) in error
    assert message in error
    assert "nothing was imported" in error
    assert _counts() == before


def test_every_bad_file_is_named_in_one_run(demo, tmp_path):
    directory = _export(tmp_path / "backup")
    _bad_json(_config_file(directory, "sales-ops", "custom-metrics"))
    timezones_file = _config_file(directory, "data-pipelines", "company-timezones")
    _edit(timezones_file, lambda d: d["value"]["companies"][0].update(timezone="Mars"))

    with pytest.raises(CommandError, match="2 files could not be imported") as raised:
        _import(directory, "--user", "carol")

    assert "custom-metrics.json" in str(raised.value)
    assert "company-timezones.json" in str(raised.value)


def test_a_folder_that_is_not_an_export_is_refused(demo, tmp_path):
    with pytest.raises(CommandError, match="is it an export"):
        _import(tmp_path, "--user", "carol")


def test_import_never_rewrites_a_published_version(metrics, tmp_path):
    directory = _export(tmp_path / "backup")
    before = {v.pk: (v.number, v.value_json) for v in Version.objects.all()}
    _edit(
        _config_file(directory, "sales-ops", "custom-metrics"),
        lambda data: data["value"]["metrics"].pop(),
    )

    _import(directory, "--user", "carol", "--bypass-reason", "Trim")
    _import(_export(tmp_path / "again"), "--user", "carol", "--bypass-reason", "Trim")

    after = {v.pk: (v.number, v.value_json) for v in Version.objects.all()}
    assert {pk: after[pk] for pk in before} == before
    assert len(after) == len(before) + 1


# --- overrides --------------------------------------------------------------------------------


def test_export_keeps_a_config_s_overrides_beside_its_value(metrics, tmp_path):
    directory = _export(tmp_path / "backup")

    data = json.loads(_config_file(directory, "sales-ops", "custom-metrics").read_text())
    plain = json.loads(_config_file(directory, "sales-ops", "legacy-fields").read_text())

    assert data["overrides"] == versions_of(metrics).get(number=1).overrides
    assert data["overrides"][0]["name"] == "globex"
    assert "overrides" not in plain  # none: the file reads as it did before overrides


def test_changed_overrides_are_imported_as_a_change_request_carrying_them(metrics, tmp_path):
    directory = _export(tmp_path / "backup")

    def for_initech_too(data):
        data["overrides"][0]["when"][0]["values"].append("initech")

    _edit(_config_file(directory, "sales-ops", "custom-metrics"), for_initech_too)
    _import(directory, "--user", "alice")

    change_request = ChangeRequest.objects.get()
    assert change_request.config == metrics
    assert change_request.change.overrides[0]["when"][0]["values"] == ["globex", "initech"]
    assert change_request.value == versions_of(metrics).get(number=1).value
    # Proposed once, however often the folder is imported.
    assert "already proposed" in _import(directory, "--user", "alice")


def test_a_file_without_overrides_proposes_removing_them(metrics, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(_config_file(directory, "sales-ops", "custom-metrics"), lambda d: d.pop("overrides"))

    _import(directory, "--user", "alice")

    assert ChangeRequest.objects.get().change.overrides == []


# --- environments: one folder each ----------------------------------------------------------


def _environment_file(directory: Path, environment: str, namespace: str, key: str) -> Path:
    return directory / "environments" / environment / namespace / f"{key}.json"


def _publish_in(config, environment: str, value, actor) -> None:
    env = environments.named(environment)
    change_request = change_request_open(
        config=config,
        author=actor,
        value=value,
        title=f"In {environment}",
        base_version=versions_of(config, env).latest("number").number,
        environment=env,
    )
    change_request_publish(change_request=change_request, actor=actor, bypass_reason="test")


def test_export_writes_each_environment_s_live_value_in_its_own_folder(timezones, carol, tmp_path):
    staging_value = versions_of(timezones).get().value
    staging_value["companies"].pop()
    _publish_in(timezones, "staging", staging_value, carol)

    directory = _export(tmp_path / "backup")

    data = json.loads(
        _environment_file(directory, "staging", "data-pipelines", "company-timezones").read_text()
    )
    assert data == {
        "namespace": "data-pipelines",
        "key": "company-timezones",
        "environment": "staging",
        "version": versions_of(timezones, environments.named("staging")).latest("number").number,
        "value": staging_value,
    }
    # The default environment's value stays in configs/, as before environments.
    production = json.loads(
        _config_file(directory, "data-pipelines", "company-timezones").read_text()
    )
    assert production["value"] == versions_of(timezones).get().value
    assert production["version"] == 1


def test_a_changed_staging_file_is_proposed_in_staging_only(timezones, alice, tmp_path):
    directory = _export(tmp_path / "backup")
    _edit(
        _environment_file(directory, "staging", "data-pipelines", "company-timezones"),
        _drop_last_company,
    )

    output = _import(directory, "--user", "alice")

    (change,) = ChangeRequest.objects.get().changes.all()
    assert change.environment.name == "staging"
    assert change.base_version.environment.name == "staging"
    staging = versions_of(timezones, environments.named("staging")).latest("number")
    assert change.base_version == staging
    assert change.value["companies"] == staging.value["companies"][:-1]
    assert "data-pipelines/company-timezones@staging: proposed in change request" in output
    assert "1 proposed for review" in output


def test_a_file_for_an_unknown_environment_is_refused_naming_it(timezones, tmp_path):
    directory = _export(tmp_path / "backup")
    moved = _environment_file(directory, "qa", "data-pipelines", "company-timezones")
    moved.parent.mkdir(parents=True)
    _edit(
        _environment_file(directory, "staging", "data-pipelines", "company-timezones"),
        lambda data: data.update(environment="qa"),
    )
    _environment_file(directory, "staging", "data-pipelines", "company-timezones").rename(moved)
    before = _counts()

    with pytest.raises(CommandError, match="there is no environment 'qa'") as raised:
        _import(directory, "--user", "alice")

    assert "development, staging, production" in str(raised.value)
    assert _counts() == before


def test_an_environment_file_of_a_config_the_folder_does_not_create_is_refused(demo, tmp_path):
    directory = tmp_path / "backup"
    path = _environment_file(directory, "staging", "data-pipelines", "nope")
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {"namespace": "data-pipelines", "key": "nope", "environment": "staging", "value": {}}
        )
    )

    with pytest.raises(CommandError, match="there is no config data-pipelines/nope"):
        _import(directory, "--user", "alice")
