"""Upgrading to environments keeps every answer: what existed becomes the default environment's
(production), the other environments start with a version 1 equal to each config's live value,
and a token made before reads production, every demo config answering as it did, byte for byte
but for the new `environment` field, with the same ETags."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from audit.services import record
from configs import environments
from configs.api import reads
from configs.models import Config
from configs.selectors import versions_of
from configs.services import token_hash
from tests.upgrades import migrate_to, upgrade

BEFORE = [
    ("configs", "0009_overrides_default_in_the_database"),
    ("reviews", "0015_overrides_default_in_the_database"),
    ("push", "0002_webhooks"),
]
DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo"
SECRET = "cc_upgrade-test-token-made-before-environments"


def _demo(name: str):
    return json.loads((DEMO / name).read_text())


def _fill_like_the_demo(apps) -> dict:
    """The demo's configs as the release before environments stored them, with a history, a
    scheduled version and overrides; returns what each config answered then, by "ns/key"."""
    User = apps.get_model("auth", "User")
    Namespace = apps.get_model("configs", "Namespace")
    Schema = apps.get_model("configs", "Schema")
    SchemaVersion = apps.get_model("configs", "SchemaVersion")
    Config = apps.get_model("configs", "Config")
    Version = apps.get_model("configs", "Version")
    carol = User.objects.create(username="carol", email="carol@example.com")
    dave = User.objects.create(username="dave", email="dave@example.com")
    namespaces = {
        slug: Namespace.objects.create(slug=slug, name=slug, required_approvals=approvals)
        for slug, approvals in (("data-pipelines", 1), ("sales-ops", 0))
    }
    for namespace in namespaces.values():
        apps.get_model("configs", "Membership").objects.create(
            namespace_id=namespace.pk, user_id=dave.pk, role="viewer"
        )
    token = apps.get_model("configs", "ApiToken").objects.create(
        user_id=dave.pk, name="pipeline", prefix=SECRET[:8], key_hash=token_hash(SECRET)
    )
    token.namespaces.set(namespaces.values())
    now = timezone.now()
    earlier = now - timedelta(days=3)
    answers = {}
    for namespace, key, schema_name, values in (
        ("data-pipelines", "company-timezones", "company-timezones", 2),
        ("data-pipelines", "warehouse-connections", "warehouse-connections", 1),
        ("sales-ops", "custom-metrics", "custom-metrics", 1),
        ("sales-ops", "legacy-fields", None, 1),
    ):
        schema = schema_version = None
        if schema_name:
            body = _demo(f"{schema_name}.schema.json")
            schema = Schema.objects.create(name=schema_name, body=body)
            schema_version = SchemaVersion.objects.create(schema_id=schema.pk, number=1, body=body)
        config = Config.objects.create(
            namespace_id=namespaces[namespace].pk,
            key=key,
            name=key,
            schema_id=schema.pk if schema else None,
        )
        value = _demo(f"{key}.value.json")
        overrides = _demo(f"{key}.overrides.json") if key == "custom-metrics" else []
        live = None
        for number in range(1, values + 1):
            if number < values:
                old = dict(value, note=f"version {number}") if isinstance(value, dict) else value
            live = Version.objects.create(
                config_id=config.pk,
                number=number,
                value=old if number < values else value,
                value_json=json.dumps(
                    old if number < values else value, sort_keys=True, separators=(",", ":")
                ),
                overrides=overrides,
                effective_at=earlier + timedelta(hours=number),
                published_at=earlier + timedelta(hours=number),
                published_by_id=carol.pk,
                schema_id=schema.pk if schema else None,
                schema_version_id=schema_version.pk if schema_version else None,
            )
        assert live is not None
        answers[f"{namespace}/{key}"] = {
            "etag": f'"v{live.pk}"',
            "document": {
                "namespace": namespace,
                "key": key,
                "version": live.number,
                "value": json.loads(live.value_json),
                "overrides": overrides,
                "effective_at": reads.timestamp(live.effective_at),
                "published_at": reads.timestamp(live.published_at),
                "published_by": "carol",
                "schema": schema_name,
                "schema_version": 1 if schema else None,
            },
        }
    # A scheduled version stays scheduled, in production only.
    metrics = Config.objects.get(key="custom-metrics")
    Version.objects.create(
        config_id=metrics.pk,
        number=2,
        value={"metrics": []},
        value_json='{"metrics":[]}',
        overrides=[],
        effective_at=now + timedelta(days=7),
        published_at=now,
        published_by_id=carol.pk,
        schema_id=metrics.schema_id,
        schema_version_id=SchemaVersion.objects.get(schema_id=metrics.schema_id).pk,
    )
    return answers


def test_every_demo_config_answers_as_before_the_upgrade_and_every_environment_has_it(
    old_console,
):
    before = _fill_like_the_demo(old_console)
    # The previous release recorded events: the chain keeps holding them.
    with transaction.atomic():
        record(
            "version.cancelled",
            actor=get_user_model().objects.get(username="carol"),
            target=None,
            namespace="data-pipelines",
            config="company-timezones",
            details={"version": 2},
        )

    upgrade()

    reader = Client(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    for label, answer in before.items():
        response = reader.get(f"/api/v1/configs/{label}/")
        assert response.status_code == 200, label
        assert response["ETag"] == answer["etag"], label
        assert response.json() == {**answer["document"], "environment": "production"}, label
        value = reader.get(f"/api/v1/configs/{label}/value/")
        assert value["ETag"] == answer["etag"]
        assert value.json() == answer["document"]["value"]
    assert [env.name for env in environments.every()] == ["development", "staging", "production"]
    assert environments.default().name == "production"
    # The other environments start equal to each config's live value (one migration per test:
    # it is the slow part).
    for label, answer in before.items():
        namespace, key = label.split("/")
        config = Config.objects.get(namespace__slug=namespace, key=key)
        for name in ("development", "staging"):
            (version,) = versions_of(config, environments.named(name))
            assert version.number == 1
            assert version.value == answer["document"]["value"], (label, name)
            assert version.overrides == answer["document"]["overrides"], (label, name)
            assert version.effective_at <= timezone.now()
    # The scheduled version is production's alone, still scheduled there.
    metrics = Config.objects.get(key="custom-metrics")
    assert [v.number for v in versions_of(metrics).order_by("number")] == [1, 2]
    assert versions_of(metrics).get(number=2).effective_at > timezone.now()
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "chain intact" in out.getvalue()


def test_the_upgrade_takes_the_environments_a_server_already_made_as_they_are(old_console):
    """A server of this release running on the database while it is upgraded (another app
    server, a deploy in progress) creates the default environments when it finds the new table
    empty; the upgrade used to create them again and fail on their unique names."""
    before = _fill_like_the_demo(old_console)
    schema_only = migrate_to([("configs", "0010_environments")])
    Environment = schema_only.get_model("configs", "Environment")
    for position, (name, title) in enumerate(environments.DEFAULTS):
        Environment.objects.create(name=name, title=title, position=position)

    upgrade()

    assert [env.name for env in environments.every()] == ["development", "staging", "production"]
    for label in before:
        namespace, key = label.split("/")
        config = Config.objects.get(namespace__slug=namespace, key=key)
        assert [v.number for v in versions_of(config, environments.named("staging"))] == [1]


def test_the_upgrade_refuses_environments_it_does_not_expect_and_says_what_to_do(old_console):
    _fill_like_the_demo(old_console)
    schema_only = migrate_to([("configs", "0010_environments")])
    schema_only.get_model("configs", "Environment").objects.create(name="qa", title="", position=0)

    with pytest.raises(RuntimeError, match=r"already holds qa;.*Stop every app server"):
        upgrade()
    schema_only.get_model("configs", "Environment").objects.all().delete()  # then it upgrades
