"""An identity provider provisions people over SCIM 2.0: what it sees and what the console does."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit.models import AuditEvent
from configs.models import Membership, Namespace
from configs.services import token_create
from identity.models import GroupRole

pytestmark = pytest.mark.django_db

SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def scim_token(capsys):
    call_command("create_scim_token", "--name", "okta")
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def idp(client, scim_token):
    """The identity provider: a client that sends the SCIM bearer token."""

    class Provider:
        def call(self, method, path, body=None):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {scim_token}"}
            if body is not None:
                kwargs.update(data=json.dumps(body), content_type=SCIM)
            return getattr(client, method)(f"/scim/v2/{path}", **kwargs)

    return Provider()


def new_person(idp, user_name="frank@example.com", **extra):
    body = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Frank", "familyName": "Ford"},
        "emails": [{"value": user_name, "primary": True}],
        "externalId": "00u-frank",
        "active": True,
        **extra,
    }
    response = idp.call("post", "Users", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_scim_needs_a_token(client, db):
    assert client.get("/scim/v2/Users").status_code == 401
    wrong = client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer scim_nope")
    assert wrong.status_code == 401


def test_create_scim_token_prints_the_token_alone_on_the_last_line(scim_token):
    assert scim_token.startswith("scim_")
    assert " " not in scim_token


def test_provider_creates_a_person_who_reads_a_config_until_deactivated(idp, client, carol):
    person = new_person(idp)
    assert person["userName"] == "frank@example.com"
    assert person["externalId"] == "00u-frank"
    frank = get_user_model().objects.get(username="frank@example.com")
    assert not frank.has_usable_password()
    assert AuditEvent.objects.filter(action="person.provisioned", target_id=str(frank.pk)).exists()

    namespace = Namespace.objects.get(slug="data-pipelines")
    Membership.objects.create(namespace=namespace, user=frank, role="viewer")
    _, secret = token_create(user=frank, name="pipeline", namespaces=[namespace], actor=carol)
    url = "/api/v1/configs/data-pipelines/company-timezones/value/"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200

    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    answer = idp.call("patch", f"Users/{person['id']}", patch)
    assert answer.status_code == 200, answer.content
    assert answer.json()["active"] is False
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    event = AuditEvent.objects.get(action="person.deactivated", target_id=str(frank.pk))
    assert event.actor_name == "SCIM (okta)"
    assert event.details["tokens_revoked"] == 1


def test_entra_style_patch_with_a_string_boolean_deactivates(idp):
    person = new_person(idp)
    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    answer = idp.call("patch", f"Users/{person['id']}", patch)
    assert answer.status_code == 200, answer.content
    assert not get_user_model().objects.get(pk=person["id"]).is_active


def test_filter_by_user_name_and_pages(idp):
    for n in range(3):
        new_person(idp, f"p{n}@example.com", externalId=f"x{n}")
    found = idp.call("get", 'Users?filter=userName eq "p1@example.com"').json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["userName"] == "p1@example.com"
    page = idp.call("get", "Users?startIndex=2&count=2").json()
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert page["totalResults"] >= 3


def test_superusers_are_not_the_providers_to_see(idp, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    assert idp.call("get", f"Users/{root.pk}").status_code == 404
    names = [r["userName"] for r in idp.call("get", "Users?count=100").json()["Resources"]]
    assert "root" not in names


def test_unknown_ids_are_not_found(idp):
    assert idp.call("get", "Users/not-a-number").status_code == 404
    assert idp.call("get", "Users/999999").status_code == 404
    assert idp.call("get", "Groups/abc").status_code == 404


def test_replace_and_delete(idp):
    person = new_person(idp)
    replaced = idp.call(
        "put",
        f"Users/{person['id']}",
        {
            "schemas": [USER_SCHEMA],
            "userName": "frank@example.com",
            "name": {"givenName": "Franklin", "familyName": "Ford"},
            "active": True,
        },
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["name"]["givenName"] == "Franklin"
    assert idp.call("delete", f"Users/{person['id']}").status_code == 204
    assert idp.call("get", f"Users/{person['id']}").status_code == 404
    frank = get_user_model().objects.get(pk=person["id"])
    assert not frank.is_active and frank.username == "frank@example.com"


def test_group_membership_feeds_the_mapping(idp):
    person = new_person(idp)
    namespace = Namespace.objects.create(slug="billing", name="Billing")
    GroupRole.objects.create(group_name="billing-editors", namespace=namespace, role="editor")
    group = idp.call(
        "post",
        "Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "billing-editors",
            "members": [{"value": person["id"]}],
        },
    )
    assert group.status_code == 201, group.content
    frank = get_user_model().objects.get(pk=person["id"])
    assert Membership.objects.get(user=frank, namespace=namespace).role == "editor"
    assert AuditEvent.objects.filter(action="membership.mapped", namespace="billing").exists()

    removed = idp.call(
        "patch",
        f"Groups/{group.json()['id']}",
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "remove", "path": f'members[value eq "{person["id"]}"]'}],
        },
    )
    assert removed.status_code == 200, removed.content
    assert not Membership.objects.filter(user=frank, namespace=namespace).exists()

    added = idp.call(
        "patch",
        f"Groups/{group.json()['id']}",
        {
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": person["id"]}]}],
        },
    )
    assert added.status_code == 200, added.content
    assert Membership.objects.get(user=frank, namespace=namespace).role == "editor"
    assert idp.call("delete", f"Groups/{group.json()['id']}").status_code == 204
    assert not Membership.objects.filter(user=frank, namespace=namespace).exists()


def test_discovery_documents(idp):
    config = idp.call("get", "ServiceProviderConfig").json()
    assert config["patch"]["supported"] and config["filter"]["supported"]
    assert {r["name"] for r in idp.call("get", "ResourceTypes").json()["Resources"]} == {
        "User",
        "Group",
    }
    assert idp.call("get", "Schemas").status_code == 200


def test_entra_style_patches_of_work_email_and_unkept_attributes(idp):
    person = new_person(idp)
    patch = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ff@example.com"},
            {"op": "Add", "path": "title", "value": "Analyst"},
            {"op": "Add", "path": "name.givenName", "value": "Franz"},
        ],
    }
    answer = idp.call("patch", f"Users/{person['id']}", patch)
    assert answer.status_code == 200, answer.content
    frank = get_user_model().objects.get(pk=person["id"])
    assert (frank.email, frank.first_name) == ("ff@example.com", "Franz")


def test_guessing_scim_tokens_is_slowed_down(client, settings, db):
    settings.API_FAILED_AUTH_RATE = "3/min"
    answers = [
        client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer scim_guess{n}").status_code
        for n in range(6)
    ]
    assert answers[0] == 401
    assert answers[-1] == 429


def test_a_page_of_people_costs_the_same_queries_however_many(idp, django_assert_max_num_queries):
    for n in range(25):
        new_person(idp, f"p{n}@example.com", externalId=f"x{n}")
    with django_assert_max_num_queries(8):
        page = idp.call("get", "Users?count=20").json()
    assert page["itemsPerPage"] == 20 and page["totalResults"] >= 25
    assert page["Resources"][0]["groups"] == []
