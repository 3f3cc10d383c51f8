"""API tokens: stored as a hash, shown once, scoped, revocable, from the console or a command."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from configs.models import ApiToken
from configs.services import token_hash
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"


def test_only_a_hash_and_a_short_prefix_are_stored(alice, timezones):
    token, secret = make_token(alice, "data-pipelines")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM configs_apitoken")
        stored = " ".join(str(column) for row in cursor.fetchall() for column in row)
    assert secret not in stored
    assert token.key_hash == token_hash(secret)
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret) / 4


def test_every_token_is_different(alice, timezones):
    secrets = {make_token(alice, "data-pipelines")[1] for _ in range(5)}

    assert len(secrets) == 5


def test_token_cannot_reach_a_namespace_its_user_has_no_role_in(erin, timezones):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        make_token(erin, "data-pipelines")


def test_last_used_time_is_kept(alice, timezones):
    token, secret = make_token(alice, "data-pipelines")
    assert token.last_used_at is None

    client_for(secret).get(CONFIG)

    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


def test_creating_and_revoking_are_audited_once_each(alice, timezones):
    token, _secret = make_token(alice, "data-pipelines", actor=alice)
    from configs.services import token_revoke

    token_revoke(token=token, actor=alice)
    token_revoke(token=token, actor=alice)  # a second revoke changes nothing

    created = AuditEvent.objects.get(action="token.created")
    revoked = AuditEvent.objects.get(action="token.revoked")
    assert created.actor == revoked.actor == alice
    assert created.namespace == "data-pipelines"
    assert created.details["scope"] == "read"
    assert created.target_id == revoked.target_id == str(token.pk)


# --- create_token -------------------------------------------------------------------------------


def test_create_token_prints_the_token_alone_on_the_last_line(alice, timezones):
    out = io.StringIO()

    call_command(
        "create_token",
        "--user=alice",
        "--namespace=data-pipelines",
        "--namespace=sales-ops",
        "--name=nightly",
        "--expires-days=30",
        stdout=out,
        stderr=io.StringIO(),
    )

    secret = out.getvalue().splitlines()[-1]
    assert secret == secret.strip() and " " not in secret
    token = ApiToken.objects.get(key_hash=token_hash(secret))
    assert token.name == "nightly"
    assert not token.can_write
    assert sorted(token.namespaces.values_list("slug", flat=True)) == [
        "data-pipelines",
        "sales-ops",
    ]
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert client_for(secret).get(CONFIG).status_code == 200


def test_create_token_with_write_makes_a_write_token(alice, timezones):
    out = io.StringIO()

    call_command(
        "create_token",
        "--user=alice",
        "--namespace=data-pipelines",
        "--write",
        stdout=out,
        stderr=io.StringIO(),
    )

    assert ApiToken.objects.get(key_hash=token_hash(out.getvalue().split()[-1])).can_write


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--user=nobody", "--namespace=data-pipelines"], "no user 'nobody'"),
        (["--user=alice", "--namespace=nowhere"], "Unknown namespace: nowhere"),
        (["--user=erin", "--namespace=data-pipelines"], "erin has no role in data-pipelines"),
        (["--user=alice", "--namespace=sales-ops", "--expires-days=0"], "at least 1"),
    ],
)
def test_create_token_refuses_with_a_clear_message(erin, arguments, says):
    with pytest.raises(CommandError, match=says):
        call_command("create_token", *arguments, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


# --- the console page ---------------------------------------------------------------------------


def test_console_creates_a_token_and_shows_it_once(client, alice, timezones):
    client.force_login(alice)
    namespace = timezones.namespace

    created = client.post(
        "/tokens/",
        {"name": "revenue pipeline", "namespaces": [namespace.pk], "write": "", "expires": "90"},
    )

    assert created.status_code == 200
    assert ApiToken.objects.count() == 1
    secret = created.context["created"]["secret"]
    assert secret in created.content.decode()
    assert "shown only this once" in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert client_for(secret).get(CONFIG).status_code == 200
    listing = client.get("/tokens/").content.decode()
    assert "revenue pipeline" in listing
    assert secret not in listing


def test_a_new_tokens_secret_is_never_stored_on_the_server(client, alice, timezones):
    client.force_login(alice)

    created = client.post(
        "/tokens/",
        {"name": "nightly", "namespaces": [timezones.namespace.pk], "write": "", "expires": "90"},
    )

    token = ApiToken.objects.get()
    # Nothing of the secret (it starts with the token's visible prefix) waits in the session.
    assert all(token.prefix not in str(value) for value in client.session.values())
    secret = created.context["created"]["secret"]
    assert secret.startswith(token.prefix)
    assert secret in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert secret not in str(ApiToken.objects.values().get())


def test_console_form_explains_what_is_missing(client, alice, timezones):
    client.force_login(alice)

    response = client.post("/tokens/", {"name": "", "expires": "90"})

    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert response.context["form"].errors.keys() == {"name", "namespaces"}


def test_console_offers_only_namespaces_the_person_has_a_role_in(client, erin, demo):
    client.force_login(erin)

    response = client.get("/tokens/")

    assert "You have no role in any namespace yet" in response.content.decode()


def test_owner_revokes_from_the_console(client, alice, timezones):
    token, secret = make_token(alice, "data-pipelines")
    client.force_login(alice)

    response = client.post(f"/tokens/{token.pk}/revoke/", follow=True)

    assert "is revoked" in response.content.decode()
    assert client_for(secret).get(CONFIG).status_code == 401


def test_admin_sees_and_revokes_tokens_in_their_namespace(client, alice, carol, timezones):
    token, _secret = make_token(alice, "data-pipelines")
    client.force_login(carol)

    assert f"{token.prefix}…" in client.get("/tokens/").content.decode()
    client.post(f"/tokens/{token.pk}/revoke/")

    token.refresh_from_db()
    assert token.revoked_by == carol


def test_others_cannot_see_or_revoke_someone_elses_token(client, alice, bob, timezones):
    token, _secret = make_token(alice, "data-pipelines")
    client.force_login(bob)  # a reviewer, not an admin

    assert f"{token.prefix}…" not in client.get("/tokens/").content.decode()
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_page_needs_a_login(client, demo):
    response = client.get("/tokens/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
