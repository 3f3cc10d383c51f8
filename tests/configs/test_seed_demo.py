"""`manage.py seed_demo`: the demo namespaces, schemas, configs and people, idempotently."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit.models import AuditEvent
from configs import environments
from configs.models import Config, Membership, Namespace, ReviewPolicy, Role, Schema, Version
from configs.selectors import versions_of
from configs.validation import validate_value

DEMO_LOGINS = {
    "alice": "alice-demo-2026",
    "bob": "bob-demo-2026",
    "carol": "carol-demo-2026",
    "dave": "dave-demo-2026",
}


def _seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = [Namespace, Membership, Schema, Config, Version, AuditEvent, get_user_model()]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing_the_second_time():
    _seed_demo()
    first = _counts()

    _seed_demo()

    assert _counts() == first
    assert first["Namespace"] == 2
    assert first["Schema"] == 3
    assert first["Config"] == 4
    # Each config's version 1 in each environment, and staging's version 2 of company-timezones.
    assert first["Version"] == 4 * len(environments.every()) + 1
    assert first["User"] == 4
    assert first["Membership"] == 8


@pytest.mark.django_db
def test_seed_demo_prints_the_console_address_and_every_login():
    output = _seed_demo()

    assert "/accounts/login/" in output
    for username, password in DEMO_LOGINS.items():
        assert username in output
        assert password in output


@pytest.mark.django_db
def test_demo_people_can_log_in_with_the_printed_passwords(client):
    _seed_demo()

    for username, password in DEMO_LOGINS.items():
        assert client.login(username=username, password=password), username
        assert get_user_model().objects.get(username=username).email == f"{username}@example.com"


@pytest.mark.django_db
def test_seed_demo_restores_a_changed_demo_password():
    _seed_demo()
    alice = get_user_model().objects.get(username="alice")
    alice.set_password("something-else-entirely")
    alice.save()

    _seed_demo()

    alice.refresh_from_db()
    assert alice.check_password("alice-demo-2026")


@pytest.mark.django_db
def test_every_demo_value_satisfies_its_schema():
    _seed_demo()

    configs = Config.objects.select_related("namespace", "schema")
    assert sorted(str(config) for config in configs) == [
        "data-pipelines/company-timezones",
        "data-pipelines/warehouse-connections",
        "sales-ops/custom-metrics",
        "sales-ops/legacy-fields",
    ]
    for config in configs:
        version = versions_of(config).get()
        assert version.number == 1
        assert validate_value(version.value, config.schema.body if config.schema else None) == []
        assert config.name
        assert config.description


@pytest.mark.django_db
def test_demo_configs_use_the_schema_of_the_same_name_except_legacy_fields():
    _seed_demo()

    schemas = dict(Config.objects.values_list("key", "schema__name"))

    assert schemas == {
        "company-timezones": "company-timezones",
        "warehouse-connections": "warehouse-connections",
        "custom-metrics": "custom-metrics",
        "legacy-fields": None,
    }


@pytest.mark.django_db
def test_demo_namespaces_have_their_review_policies_and_owners():
    _seed_demo()

    pipelines = Namespace.objects.get(slug="data-pipelines")
    sales = Namespace.objects.get(slug="sales-ops")
    assert (pipelines.name, pipelines.required_approvals) == ("Data pipelines", 1)
    assert (sales.name, sales.required_approvals) == ("Sales ops", 0)
    for config in pipelines.configs.all():
        assert list(config.owners.values_list("username", flat=True)) == ["bob"]
    for config in sales.configs.all():
        assert list(config.owners.values_list("username", flat=True)) == ["carol"]


@pytest.mark.django_db
@pytest.mark.parametrize("namespace", ["data-pipelines", "sales-ops"])
@pytest.mark.parametrize(
    "username, role",
    [
        ("alice", Role.EDITOR),
        ("bob", Role.REVIEWER),
        ("carol", Role.ADMIN),
        ("dave", Role.VIEWER),
    ],
)
def test_demo_people_have_their_role_in_both_namespaces(namespace, username, role):
    _seed_demo()

    membership = Membership.objects.get(namespace__slug=namespace, user__username=username)

    assert membership.role == role


@pytest.mark.django_db
def test_demo_development_needs_no_approval_and_production_keeps_the_namespaces_policy():
    from configs import policies

    _seed_demo()
    _seed_demo()

    timezones = Config.objects.get(key="company-timezones")
    metrics = Config.objects.get(key="custom-metrics")
    development, production = environments.named("development"), environments.named("production")
    assert not policies.of(timezones, development).needs_review
    assert not policies.of(metrics, development).needs_review
    assert policies.of(timezones, production).required_approvals == 1
    assert policies.of(metrics, production).required_approvals == 0
    assert ReviewPolicy.objects.count() == 2


@pytest.mark.django_db
def test_demo_staging_has_one_company_more_than_production_once():
    _seed_demo()
    _seed_demo()

    timezones = Config.objects.get(key="company-timezones")
    staging = versions_of(timezones, environments.named("staging")).get(number=2)
    production = versions_of(timezones).get()
    assert [c["company_id"] for c in staging.value["companies"]] == [
        *(c["company_id"] for c in production.value["companies"]),
        "umbrella",
    ]
    assert staging.published_by.username == "carol"
    assert not versions_of(timezones, environments.named("staging")).filter(number=3).exists()
