"""A deactivated person loses their sessions and API tokens at once, however they were
deactivated; their change requests, history and audit events keep their name."""

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from configs.models import ApiToken, Namespace
from configs.selectors import newest_version
from configs.services import token_create
from reviews import services as review_services
from tests.values import with_company

pytestmark = pytest.mark.django_db

VALUE = "/api/v1/configs/data-pipelines/company-timezones/value/"


def test_deactivating_a_person_ends_their_session_and_tokens_at_once(client, alice, carol):
    client.post("/accounts/login/", {"username": "alice", "password": "alice-demo-2026"})
    assert client.get("/").status_code == 200
    namespace = Namespace.objects.get(slug="data-pipelines")
    _, secret = token_create(user=alice, name="pipeline", namespaces=[namespace], actor=alice)
    api = client.__class__()
    assert api.get(VALUE, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200

    alice.is_active = False
    alice.save()

    assert client.get("/").status_code == 302  # back to the login page
    assert api.get(VALUE, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert ApiToken.objects.get(user=alice).revoked_at is not None
    event = AuditEvent.objects.get(action="person.deactivated")
    assert event.details["sessions_ended"] == 1 and event.details["tokens_revoked"] == 1


def test_a_superuser_deactivating_in_admin_is_the_one_recorded(admin_client, alice):
    form = admin_client.get(f"/admin/auth/user/{alice.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "is_active"}
    data.update(
        username="alice",
        date_joined_0=alice.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=alice.date_joined.strftime("%H:%M:%S"),
        groups=[],
        user_permissions=[],
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = admin_client.post(f"/admin/auth/user/{alice.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    alice.refresh_from_db()
    assert not alice.is_active
    event = AuditEvent.objects.get(action="person.deactivated")
    assert event.actor_name == "admin"


def test_their_open_change_requests_and_history_keep_their_name(client, alice, bob, timezones):
    change = review_services.change_request_open(
        config=timezones,
        author=alice,
        value=with_company(timezones, "acme"),
        title="Add acme",
        base_version=newest_version(timezones).number,
    )
    alice.is_active = False
    alice.save()

    change.refresh_from_db()
    assert change.author.username == "alice"
    assert get_user_model().objects.filter(username="alice").exists()
    assert AuditEvent.objects.filter(actor_name="alice").exists()
    client.force_login(bob)
    page = client.get(change.get_absolute_url()).content.decode()
    assert "alice (deactivated)" in page


def test_a_superuser_deactivates_and_reactivates_in_the_console(client, admin_client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "alice-demo-2026"})
    namespace = Namespace.objects.get(slug="data-pipelines")
    _, secret = token_create(user=alice, name="pipeline", namespaces=[namespace], actor=alice)
    assert "alice" in admin_client.get("/signin/people/").content.decode()

    admin_client.post("/signin/people/", {"person": alice.pk, "active": "0"})

    assert client.get("/").status_code == 302
    api = client.__class__()
    assert api.get(VALUE, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    event = AuditEvent.objects.get(action="person.deactivated")
    assert (event.actor_name, event.details["via"]) == ("admin", "console")

    admin_client.post("/signin/people/", {"person": alice.pk, "active": "1"})
    alice.refresh_from_db()
    assert alice.is_active
    assert api.get(VALUE, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401  # stays revoked
    assert AuditEvent.objects.filter(action="person.reactivated", actor_name="admin").exists()


def test_only_superusers_see_the_people_page(client, carol):
    client.force_login(carol)
    assert client.get("/signin/people/").status_code == 404
