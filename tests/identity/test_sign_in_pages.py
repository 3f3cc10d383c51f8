"""The login page, PASSWORD_LOGIN=0 with its break-glass link, and the group → role mapping
admins edit in the console."""

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from configs.models import Membership, Namespace
from identity.models import GroupRole, ProviderGroup, ScimToken

pytestmark = pytest.mark.django_db


def test_the_login_page_offers_the_provider_only_when_one_is_set_up(client, settings, demo):
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    settings.OIDC_ISSUER = "https://sso.example.com"
    settings.OIDC_PROVIDER_NAME = "Okta"
    assert "Sign in with Okta" in client.get("/accounts/login/").content.decode()
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 302


def test_password_sign_in_can_be_turned_off(client, settings, demo):
    settings.PASSWORD_LOGIN = False
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    response = client.post("/accounts/login/", {"username": "carol", "password": demo["carol"]})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/login/").url.startswith("/accounts/login/")


def test_a_superuser_signs_in_once_with_the_break_glass_link(
    client, settings, django_user_model, capsys
):
    settings.PASSWORD_LOGIN = False
    django_user_model.objects.create_superuser("root", password="x")
    call_command("break_glass_link", "--user", "root")
    link = capsys.readouterr().out.strip().splitlines()[-1]
    path = link.removeprefix(settings.CONSOLE_BASE_URL.rstrip("/"))

    assert client.get(path).status_code == 200  # a page with a button: opening it uses nothing
    assert client.post(path).status_code == 302
    assert client.get("/").status_code == 200
    client.logout()
    assert client.post(path).status_code == 404  # once only


def test_an_admin_maps_a_group_and_its_members_get_the_role_at_once(client, carol, erin):
    ProviderGroup.objects.create(name="pipeline-team").members.add(erin)
    client.force_login(carol)
    page = client.get("/signin/groups/")
    assert page.status_code == 200

    client.post(
        "/signin/groups/",
        {"group_name": "pipeline-team", "namespace": "data-pipelines", "role": "editor"},
    )
    pipelines = Namespace.objects.get(slug="data-pipelines")
    assert Membership.objects.get(user=erin, namespace=pipelines).role == "editor"

    mapping = GroupRole.objects.get()
    client.post(f"/signin/groups/{mapping.pk}/remove/")
    assert not Membership.objects.filter(user=erin, namespace=pipelines).exists()
    assert AuditEvent.objects.filter(action="membership.mapped").count() == 2


def test_only_admins_see_the_mapping_and_only_for_their_namespaces(client, alice, carol):
    client.force_login(alice)
    assert client.get("/signin/groups/").status_code == 404
    client.force_login(carol)
    response = client.post(
        "/signin/groups/", {"group_name": "x", "namespace": "nope", "role": "admin"}
    )
    assert response.status_code == 404
    assert not GroupRole.objects.exists()


def test_a_mapped_role_does_not_take_away_a_role_given_by_hand(carol, erin):
    from identity import services

    pipelines = Namespace.objects.get(slug="data-pipelines")
    sales = Namespace.objects.get(slug="sales-ops")
    Membership.objects.create(user=erin, namespace=sales, role="viewer")
    ProviderGroup.objects.create(name="team").members.add(erin)
    services.group_role_set(group_name="team", namespace=pipelines, role="editor", actor=carol)
    erin.provider_groups.clear()
    services.roles_apply_mapping(user=erin, via="sign-in")

    assert not Membership.objects.filter(user=erin, namespace=pipelines).exists()
    assert Membership.objects.get(user=erin, namespace=sales).role == "viewer"


def test_a_superuser_revokes_a_scim_token_in_the_console(client, admin_user, capsys):
    call_command("create_scim_token", "--name", "okta")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    client.force_login(admin_user)
    token = ScimToken.objects.get()
    assert "okta" in client.get("/signin/groups/").content.decode()
    client.post(f"/signin/scim-tokens/{token.pk}/revoke/")
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_with_a_provider_set_up_sign_out_may_go_on_to_it():
    """Sign-out is a form whose answer redirects to the provider: the page's policy allows it."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_DEBUG": "1", "OIDC_ISSUER": "https://sso.example.com/oauth2"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from configconsole import settings as s; "
            "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == ["'self'", "https://sso.example.com"]


def test_a_password_sign_in_with_a_code_in_its_address_is_only_a_password_sign_in(
    client, settings, demo
):
    settings.OIDC_ISSUER = "https://sso.example.invalid"
    response = client.post(
        "/accounts/login/?code=abc&state=xyz", {"username": "carol", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_a_deactivated_person_cannot_sign_in_with_the_provider(alice):
    from identity import services
    from identity.models import ProvisionedPerson

    ProvisionedPerson.objects.create(user=alice, external_id="00u-alice")
    alice.is_active = False
    alice.save()
    with pytest.raises(services.SignInRefused, match="alice is deactivated"):
        services.person_sign_in_with_provider(
            issuer="https://sso.example.com",
            claims={"sub": "00u-alice", "preferred_username": "alice"},
            username_claim="preferred_username",
            groups_claim="groups",
            provider="Okta",
        )


def test_a_provider_account_never_takes_over_a_local_account_of_the_same_name(alice):
    from identity import services

    person = services.person_sign_in_with_provider(
        issuer="https://sso.example.com",
        claims={"sub": "00u-mallory", "preferred_username": "alice"},
        username_claim="preferred_username",
        groups_claim="groups",
        provider="Okta",
    )
    assert person.pk != alice.pk
    assert person.username == "alice-2"


def test_a_provisioned_person_is_not_taken_over_through_an_edited_username(bob, settings):
    from identity import services
    from identity.models import ProvisionedPerson

    ProvisionedPerson.objects.create(user=bob, external_id="00u-bob")
    person = services.person_sign_in_with_provider(
        issuer="https://sso.example.com",
        claims={"sub": "00u-mallory", "preferred_username": "bob"},
        username_claim="preferred_username",
        groups_claim="groups",
        provider="Okta",
    )
    assert person.pk != bob.pk and person.username == "bob-2"

    settings.OIDC_LINK_PROVISIONED_BY_USERNAME = True  # where people cannot edit the claim
    linked = services.person_sign_in_with_provider(
        issuer="https://login.example.net",
        claims={"sub": "pairwise-bob", "preferred_username": "bob"},
        username_claim="preferred_username",
        groups_claim="groups",
        provider="Entra ID",
    )
    assert linked.pk == bob.pk


def test_a_provider_error_page_that_is_not_json_is_refused_in_words():
    import requests

    from identity.oidc import _error_body

    response = requests.Response()
    response.status_code = 502
    response._content = b"<html>Bad gateway</html>"
    assert _error_body(response) == {}
    assert _error_body(None) == {}
