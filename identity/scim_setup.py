"""What django-scim2 reads from its settings before any SCIM view exists: the bearer-token
check, which people and groups the provider sees, the filter parsers and the discovery answer.
(Apart from identity/scim.py, which imports django-scim2's views, so that they can import this.)"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django_scim import constants
from django_scim.filters import GroupFilterQuery, UserFilterQuery
from django_scim.middleware import SCIMAuthCheckMiddleware
from django_scim.models import SCIMServiceProviderConfig

from common import throttle
from identity import services
from identity.models import ProviderGroup

User = get_user_model()
MAX_RESULTS = 50  # django-scim2's page size when a client asks for no count


class ScimBearerCheck(SCIMAuthCheckMiddleware):
    """Lets a request through only with a usable SCIM token (`create_scim_token`)."""

    def process_request(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        token = services.scim_token_check(secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            # Failed attempts count as the API's do (API_FAILED_AUTH_RATE): past it, a 429.
            refusal = throttle.authentication_failed(request)
            if refusal is not None:
                response = HttpResponse(
                    json.dumps(
                        {
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                            "status": "429",
                            "detail": str(refusal.detail),
                        }
                    ),
                    status=429,
                    content_type=constants.SCIM_CONTENT_TYPE,
                )
                response["Retry-After"] = str(refusal.wait)
                return response
            response = HttpResponse(
                '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", '
                '"detail": "A valid SCIM bearer token is required."}',
                status=401,
                content_type=constants.SCIM_CONTENT_TYPE,
            )
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
            return response
        request.scim_actor = services.ProvisioningActor(token_name=token.name)
        return None


def no_extra_filter(model):
    """Superusers are the break-glass accounts: the provider neither lists nor changes them;
    people removed over SCIM are no longer listed."""

    def extra(request, *args, **kwargs):
        return {"is_superuser": False} if model is User else {}

    return extra


def extra_exclude(model):
    def extra(request, *args, **kwargs):
        return {"provisioned__removed": True} if model is User else {}

    return extra


class PersonFilter(UserFilterQuery):
    model_getter = staticmethod(get_user_model)


class GroupFilter(GroupFilterQuery):
    model_getter = staticmethod(lambda: ProviderGroup)
    attr_map = {("displayName", None, None): "name", ("externalId", None, None): "external_id"}


def base_location(request=None, *args, **kwargs) -> str:
    """Where the SCIM resources live, as this request reached us (locations in answers)."""
    if request is None:
        from django.conf import settings

        return settings.CONSOLE_BASE_URL
    return f"{request.scheme}://{request.get_host()}"


class ServiceProviderConfig(SCIMServiceProviderConfig):
    """What this server does, as clients read it: filters yes; bulk, sort, ETags and password
    changes no (passwords stay with the identity provider)."""

    def to_dict(self):
        d = super().to_dict()
        d["filter"] = {"supported": True, "maxResults": MAX_RESULTS}
        d["changePassword"] = {"supported": False}
        return d


def _trimmed(schema: dict, keep: dict[str, set[str] | None], read_only: set[str]) -> dict:
    attributes = []
    for attribute in schema["attributes"]:
        if attribute["name"] not in keep:
            continue
        attribute = dict(attribute)
        subs = keep[attribute["name"]]
        if subs is not None and "subAttributes" in attribute:
            attribute["subAttributes"] = [
                s for s in attribute["subAttributes"] if s["name"] in subs
            ]
        if attribute["name"] in read_only:
            attribute["mutability"] = "readOnly"
        attributes.append(attribute)
    return {**schema, "attributes": attributes}


def schemas() -> list[dict]:
    """The core schemas, with User and Group cut down to the attributes the console keeps (a
    provider then sends and expects only those); no Enterprise User extension."""
    from django_scim.schemas import ALL

    found = []
    for schema in ALL:
        if schema["id"] == "urn:ietf:params:scim:schemas:core:2.0:User":
            schema = _trimmed(
                schema,
                {
                    "userName": None,
                    "name": {"givenName", "familyName"},
                    "displayName": None,
                    "active": None,
                    "emails": {"value", "primary"},
                    "groups": None,
                },
                read_only={"displayName", "groups"},
            )
            for attribute in schema["attributes"]:
                if attribute["name"] == "active":
                    # A person here is always active or not: the value can change, never go.
                    attribute["required"] = True
        elif schema["id"] == "urn:ietf:params:scim:schemas:core:2.0:Group":
            schema = _trimmed(schema, {"displayName": None, "members": None}, read_only=set())
            for attribute in schema["attributes"]:
                if attribute["name"] == "displayName":
                    attribute["required"] = True  # the mapping knows groups by this name
            members = next(a for a in schema["attributes"] if a["name"] == "members")
            members["subAttributes"] = [s for s in members["subAttributes"] if s["name"] != "type"]
        elif "extension" in schema["id"]:
            continue
        found.append(schema)
    return found


def people_with_their_groups(model):
    """A page of people comes with their provisioning row and groups: two queries, not two
    per person."""

    def post_process(request, qs, *args, **kwargs):
        if model is User:
            return qs.select_related("provisioned").prefetch_related("provider_groups")
        return qs.prefetch_related("members")

    return post_process
