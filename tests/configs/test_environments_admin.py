"""Administrators of the installation add, rename and reorder environments, on the console's
Environments page and in /admin/, through the same services."""

import pytest

from audit.models import AuditEvent
from configs import environments
from configs.models import Config, Environment, Version
from configs.selectors import live_version, newest_version

PAGE = "/environments/"


@pytest.fixture
def root(demo, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-pass")


def names():
    return [env.name for env in environments.every()]


@pytest.mark.parametrize("persona", ["alice", "carol", "dave"])
def test_only_administrators_of_the_installation_see_the_page(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"action": "add", "name": "qa"}).status_code == 404
    assert "qa" not in names()


def test_adding_an_environment_gives_every_config_its_live_value_there(client, root, timezones):
    client.force_login(root)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'id="env-production"' in page.content.decode()

    response = client.post(PAGE, {"action": "add", "name": "qa", "title": "QA"}, follow=True)
    assert "Added QA" in response.content.decode()
    # Placed before the default one, which stays the default.
    assert names() == ["development", "staging", "qa", "production"]
    assert environments.default().name == "production"
    qa = environments.named("qa")
    for config in Config.objects.all():
        copy = live_version(config, environment=qa)
        live = live_version(config, environment=environments.default())
        assert copy.number == 1
        assert (copy.value, copy.overrides) == (live.value, live.overrides)
    event = AuditEvent.objects.get(action="environment.added")
    assert event.actor_name == "root"
    assert event.details["configs"] == Config.objects.count()
    assert event.details["order"] == ["development", "staging", "qa", "production"]
    # The config page shows it beside the others.
    rows = client.get("/configs/data-pipelines/company-timezones/").context["side_by_side"]
    assert [row.env.name for row in rows] == names()


def test_adding_an_environment_reaches_the_change_feed(client, root, timezones):
    from push.models import ChangeEvent

    client.force_login(root)
    client.post(PAGE, {"action": "add", "name": "qa"})
    qa = environments.named("qa")
    events = ChangeEvent.objects.filter(environment_id=qa.id)
    assert events.count() == Config.objects.count()


@pytest.mark.parametrize(
    "name, says",
    [
        ("staging", "There is already an environment called “staging”"),
        ("Not A Name", "lowercase letters"),
        ("", "This field cannot be blank"),
    ],
)
def test_a_name_taken_or_malformed_is_refused_in_words(client, root, name, says):
    client.force_login(root)
    response = client.post(PAGE, {"action": "add", "name": name, "title": "Kept"})
    assert response.status_code == 400
    page = response.content.decode()
    assert says in page
    assert 'value="Kept"' in page  # what was typed is kept
    assert names() == ["development", "staging", "production"]


def test_renaming_keeps_every_value_and_history(client, root, timezones):
    client.force_login(root)
    staging = Environment.objects.get(name="staging")
    before = list(Version.objects.filter(environment=staging).values_list("pk", flat=True))
    response = client.post(
        PAGE,
        {"action": "rename", "environment": staging.pk, "name": "preprod", "title": "Pre-prod"},
        follow=True,
    )
    assert "Saved Pre-prod" in response.content.decode()
    assert names() == ["development", "preprod", "production"]
    assert list(Version.objects.filter(environment=staging).values_list("pk", flat=True)) == before
    page = client.get("/configs/data-pipelines/company-timezones/?environment=preprod")
    assert page.status_code == 200
    assert page.context["environment"].label == "Pre-prod"
    assert (
        client.get("/configs/data-pipelines/company-timezones/?environment=staging").status_code
        == 404
    )
    event = AuditEvent.objects.get(action="environment.changed")
    assert event.details["changes"]["name"] == {"before": "staging", "after": "preprod"}


def test_renaming_into_an_existing_name_is_refused(client, root):
    client.force_login(root)
    staging = Environment.objects.get(name="staging")
    response = client.post(
        PAGE, {"action": "rename", "environment": staging.pk, "name": "production", "title": ""}
    )
    assert response.status_code == 400
    assert "There is already an environment called “production”" in response.content.decode()
    assert names() == ["development", "staging", "production"]


def test_reordering_moves_one_place_and_says_when_the_default_changes(client, root):
    client.force_login(root)
    development = Environment.objects.get(name="development")
    client.post(PAGE, {"action": "later", "environment": development.pk})
    assert names() == ["staging", "development", "production"]
    response = client.post(PAGE, {"action": "later", "environment": development.pk}, follow=True)
    assert names() == ["staging", "production", "development"]
    assert "Development is now the default environment" in response.content.decode()
    assert environments.default().name == "development"
    response = client.post(PAGE, {"action": "later", "environment": development.pk})
    assert response.status_code == 400
    assert "Development is already last" in response.content.decode()
    moved = AuditEvent.objects.filter(action="environment.moved").order_by("id")
    assert moved.count() == 2
    assert moved.last().details["default"] == {"before": "production", "after": "development"}


def test_in_admin_an_environment_is_added_and_renamed_through_the_services(client, root, timezones):
    client.force_login(root)
    response = client.post(
        "/admin/configs/environment/add/", {"name": "qa", "title": "QA", "reason": "Testers"}
    )
    assert response.status_code == 302
    qa = environments.named("qa")
    assert newest_version(timezones, qa).number == 1
    assert AuditEvent.objects.get(action="environment.added").reason == "Testers"

    taken = client.post(
        f"/admin/configs/environment/{qa.id}/change/", {"name": "staging", "title": "QA"}
    )
    assert taken.status_code == 200
    assert "There is already an environment with this name" in taken.content.decode()

    client.post(f"/admin/configs/environment/{qa.id}/change/", {"name": "testing", "title": "QA"})
    assert "testing" in names()
    assert AuditEvent.objects.filter(action="environment.changed").count() == 1


def test_in_admin_environments_are_reordered_and_never_removed(client, root):
    client.force_login(root)
    staging = Environment.objects.get(name="staging")
    client.post(
        "/admin/configs/environment/",
        {"action": "move_earlier", "_selected_action": [staging.pk]},
    )
    assert names() == ["staging", "development", "production"]
    response = client.post(f"/admin/configs/environment/{staging.pk}/delete/", follow=True)
    assert "Environments cannot be removed" in response.content.decode()
    assert Environment.objects.filter(pk=staging.pk).exists()


def test_a_config_only_scheduled_in_the_default_environment_gets_its_newest_value(root, timezones):
    from datetime import timedelta

    from django.utils import timezone

    from configs.services import environment_add

    # A config whose first value takes effect tomorrow: nothing is live yet in production.
    later = Config.objects.create(namespace=timezones.namespace, key="later", name="Later")
    production = Environment.objects.get(name="production")
    Version.objects.create(
        config=later,
        environment=production,
        number=1,
        value={"companies": []},
        effective_at=timezone.now() + timedelta(days=1),
        published_at=timezone.now(),
        published_by=root,
    )

    environment_add(name="qa", actor=root)

    [copy] = Version.objects.filter(config=later, environment__name="qa")
    assert (copy.number, copy.value) == (1, {"companies": []})
    assert copy.effective_at <= timezone.now()
