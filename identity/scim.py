"""SCIM 2.0 at /scim/v2/, served by django-scim2 (its views, filter parser, discovery documents
and PATCH parsing). Django's own User model has no SCIM columns, so the adapters here say where
each SCIM attribute lives; the bearer-token check and the audit events are ours."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from django_scim import constants, exceptions
from django_scim import views as scim_views
from django_scim.adapters import SCIMGroup, SCIMUser

from audit.services import record
from identity import services
from identity.models import ProviderGroup, ProvisionedPerson

User = get_user_model()


def _actor(request) -> services.ProvisioningActor:
    return getattr(request, "scim_actor", services.ProvisioningActor(token_name="?"))


_TRUE = {"true": True, "false": False}


def _as_bool(value: Any) -> Any:
    # Entra ID sends "True"/"False" as strings in PATCH.
    return _TRUE.get(value.lower(), value) if isinstance(value, str) else value


ALWAYS_RETURNED = {"id", "schemas", "meta"}


def _only_asked(d: dict, request) -> dict:
    """RFC 7644 §3.4.2.5: `attributes` and `excludedAttributes` choose what an answer holds."""
    if request is None or request.method not in {"GET", "POST"}:
        return d
    asked = request.GET.get("attributes", "")
    if request.method == "POST" and request.path.endswith(".search"):
        body = json.loads(request.body or b"{}")
        asked = ",".join(body.get("attributes", [])) or asked
    excluded = request.GET.get("excludedAttributes", "")
    if asked:
        names = {a.strip().split(".")[0].lower() for a in asked.split(",") if a.strip()}
        d = {k: v for k, v in d.items() if k in ALWAYS_RETURNED or k.lower() in names}
    for attribute in (a.strip() for a in excluded.split(",") if a.strip()):
        top, _, sub = attribute.partition(".")
        for key in [k for k in d if k.lower() == top.lower() and k not in ALWAYS_RETURNED]:
            if sub and isinstance(d[key], dict):
                d[key] = {k: v for k, v in d[key].items() if k.lower() != sub.lower()}
            elif not sub:
                del d[key]
    return d


def _relative_endpoint(resource_type: dict) -> dict:
    # RFC 7643 §6: the endpoint is relative to the base URL ("/Users"), not the site's root.
    return {**resource_type, "endpoint": "/" + resource_type["endpoint"].rstrip("/").split("/")[-1]}


class PersonAdapter(SCIMUser):
    id_field = "pk"

    @classmethod
    def resource_type_dict(cls, request=None):
        return _relative_endpoint(super().resource_type_dict(request))

    @property
    def id(self):
        return str(self.obj.pk)

    def _provisioned(self) -> ProvisionedPerson | None:
        if self.obj.pk is None:
            return None
        try:
            return self.obj.provisioned  # loaded with the list (people_with_their_groups)
        except ProvisionedPerson.DoesNotExist:
            return None

    @property
    def groups(self):
        return [
            {"value": str(g.pk), "$ref": GroupAdapter(g, self.request).location, "display": g.name}
            for g in self.obj.provider_groups.all()
        ]

    @property
    def emails(self):
        provisioned = self._provisioned()
        kept = provisioned.emails if provisioned else []
        if kept and self.obj.email in [e.get("value") for e in kept]:
            return kept
        return [{"value": self.obj.email, "primary": True}] if self.obj.email else []

    def parse_emails(self, value):
        super().parse_emails(value)
        entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        # As the provider sent them (value and primary): the console itself keeps one address.
        self._emails = [
            {"value": e.get("value"), "primary": bool(e.get("primary"))}
            for e in entries
            if isinstance(e, dict) and e.get("value")
        ]

    @property
    def meta(self):
        return {
            "resourceType": self.resource_type,
            "created": self.obj.date_joined.isoformat(),
            "lastModified": (self.obj.last_login or self.obj.date_joined).isoformat(),
            "location": self.location,
        }

    def to_dict(self):
        provisioned = self._provisioned()
        self.obj.scim_external_id = provisioned.external_id if provisioned else ""
        d = super().to_dict()
        if not d["externalId"]:
            del d["externalId"]
        if not d["emails"]:
            del d["emails"]
        # Only the parts of the name the console keeps, and no name when it has none.
        d["name"] = {k: v for k, v in d["name"].items() if v and k != "formatted"}
        if not d["name"]:
            del d["name"]
        return _only_asked(d, self._request)

    def from_dict(self, d):
        if not str(d.get("userName") or "").strip():
            raise exceptions.BadRequestError("userName is required.", scim_type="invalidValue")
        self._external_id = d.get("externalId")
        # Passwords stay with the identity provider (one sent here would not be used).
        d = {key: value for key, value in d.items() if key != "password"}
        before = self.obj.is_active if self.obj.pk else True
        super().from_dict(d)
        if d.get("active") is None and self.obj.pk:
            self.obj.is_active = before
        # Passwords stay with the identity provider: people it provisions sign in through it.
        # (Only once: a new unusable password would also end the person's sessions.)
        if self.obj.pk is None:
            self.obj.set_unusable_password()

    def parse_path_and_values(self, path, value):
        # A whole "name" is its sub-attributes, one by one (the formatted name is made here).
        if path and path.lower() == "name" and isinstance(value, dict):
            path, value = None, {"name": value}
        if not path and isinstance(value, dict) and isinstance(value.get("name"), dict):
            value = {k: v for k, v in value.items() if k != "name"} | {
                f"name.{sub}": v for sub, v in value["name"].items() if sub != "formatted"
            }
        pairs = super().parse_path_and_values(path, value)
        return [(p, _as_bool(v) if p.first_path == ("active", None, None) else v) for p, v in pairs]

    def handle_remove(self, path, value, operation):
        first = path.first_path
        if first == ("externalId", None, None):
            self._external_id = ""
        elif first[0] == "name":
            if first[1] in (None, "givenName"):
                self.obj.first_name = ""
            if first[1] in (None, "familyName"):
                self.obj.last_name = ""
        elif first[0] == "emails":
            self.obj.email = ""
            self._emails = []
        else:
            raise exceptions.BadRequestError(
                f"{first[0]} cannot be removed.", scim_type="mutability"
            )
        self.save()

    def handle_replace(self, path, value, operation):
        if not isinstance(value, dict):
            value = {path: value}
        for attr_path, attr_value in value.items():
            first = attr_path.first_path
            if first == ("externalId", None, None):
                self._external_id = attr_value
            elif first in (("displayName", None, None), ("name", None, None)):
                if isinstance(attr_value, dict):
                    self.obj.first_name = attr_value.get("givenName", self.obj.first_name) or ""
                    self.obj.last_name = attr_value.get("familyName", self.obj.last_name) or ""
            elif first == ("active", None, None):
                self.obj.is_active = bool(_as_bool(attr_value))
            elif first in self.ATTR_MAP:
                setattr(self.obj, self.ATTR_MAP[first], attr_value)
            elif first[0] == "emails":
                if isinstance(attr_value, str):  # Entra ID: emails[type eq "work"].value
                    self.validate_email(attr_value)
                    self.obj.email = attr_value
                    self._emails = [{"value": attr_value, "primary": True}]
                else:
                    self.parse_emails(attr_value)
            # Anything else (title, phone numbers, the enterprise extension…) is not kept here,
            # as in a POST or PUT: a provider's default attribute mapping works unchanged.
        self.save()

    # Okta and Entra ID send "add" for attributes that had no value yet.
    handle_add = handle_replace

    @transaction.atomic
    def save(self):
        actor = _actor(self.request)
        created = self.obj.pk is None
        before = (
            User.objects.filter(pk=self.obj.pk)
            .values("username", "email", "first_name", "last_name", "is_active")
            .first()
            if not created
            else None
        )
        self.obj._deactivated_by = actor
        self.obj._deactivated_via = "SCIM"
        self.obj.save()
        provisioned, _ = ProvisionedPerson.objects.get_or_create(user=self.obj)
        self.obj.provisioned = provisioned
        emails = getattr(self, "_emails", None)
        if emails is not None and provisioned.emails != emails:
            provisioned.emails = emails
            provisioned.save(update_fields=["emails"])
        external_id = getattr(self, "_external_id", None)
        if external_id is not None and provisioned.external_id != (external_id or ""):
            provisioned.external_id = (external_id or "")[:255]
            provisioned.save(update_fields=["external_id"])
        if created:
            record(
                "person.provisioned",
                actor=actor,
                target=self.obj,
                details={"user": self.obj.username, "active": self.obj.is_active},
            )
            return
        assert before is not None
        changed = {
            field: getattr(self.obj, field)
            for field, value in before.items()
            if getattr(self.obj, field) != value and field != "is_active"
        }
        if changed:
            record("person.changed", actor=actor, target=self.obj, details=changed)
        if self.obj.is_active and not before["is_active"]:
            record(
                "person.reactivated",
                actor=actor,
                target=self.obj,
                details={"user": self.obj.username, "via": "SCIM"},
            )

    @transaction.atomic
    def delete(self):
        """SCIM DELETE: the person is deactivated (their access ends) and no longer listed; their
        change requests, history and audit events keep their name."""
        actor = _actor(self.request)
        self.obj._deactivated_by = actor
        self.obj._deactivated_via = "SCIM"
        self.obj.is_active = False
        self.obj.save()
        ProvisionedPerson.objects.update_or_create(user=self.obj, defaults={"removed": True})
        self.obj.provider_groups.clear()
        services.roles_apply_mapping(user=self.obj, via="SCIM")
        record("person.removed", actor=actor, target=self.obj, details={"user": self.obj.username})


def _member_ids(members: list[dict] | None) -> set[int]:
    ids = set()
    for member in members or []:
        value = str(member.get("value", ""))
        if not value.isdigit():
            raise exceptions.BadRequestError(
                f"No person with id {value!r}.", scim_type="invalidValue"
            )
        ids.add(int(value))
    known = set(User.objects.filter(pk__in=ids, is_superuser=False).values_list("pk", flat=True))
    if known != ids:
        raise exceptions.BadRequestError(
            "A member is not a person known here.", scim_type="invalidValue"
        )
    return ids


class GroupAdapter(SCIMGroup):
    id_field = "pk"

    @classmethod
    def resource_type_dict(cls, request=None):
        return _relative_endpoint(super().resource_type_dict(request))

    # For PATCH paths only (filters use GroupFilter's map): names members[value eq "…"].
    ATTR_MAP = {
        ("displayName", None, None): "name",
        ("externalId", None, None): "external_id",
        ("members", None, None): "members",
        ("members", "value", None): "members_value",
    }

    @property
    def id(self):
        return str(self.obj.pk)

    @property
    def members(self):
        return (
            [
                {"value": str(u.pk), "$ref": PersonAdapter(u, self.request).location}
                for u in self.obj.members.all()
            ]
            if self.obj.pk
            else []
        )

    def to_dict(self):
        self.obj.scim_external_id = self.obj.external_id
        d = super().to_dict()
        if not d["externalId"]:
            del d["externalId"]
        return _only_asked(d, self._request)

    def from_dict(self, d):
        if not str(d.get("displayName") or "").strip():
            raise exceptions.BadRequestError("displayName is required.", scim_type="invalidValue")
        super().from_dict(d)
        self.obj.external_id = self.obj.scim_external_id[:255]
        self._members = _member_ids(d.get("members")) if "members" in d else None

    def _apply(self, change_members) -> None:
        """Changes the members, then brings every person whose groups changed in line with the
        group → role mapping."""
        before = set(self.obj.members.values_list("pk", flat=True))
        change_members()
        after = set(self.obj.members.values_list("pk", flat=True))
        for person in User.objects.filter(pk__in=before ^ after):
            services.roles_apply_mapping(user=person, via="SCIM")
        if before != after:
            record(
                "group.changed",
                actor=_actor(self.request),
                target=self.obj,
                details={
                    "group": self.obj.name,
                    "added": len(after - before),
                    "removed": len(before - after),
                },
            )

    @transaction.atomic
    def save(self):
        created = self.obj.pk is None
        old_name = (
            None
            if created
            else ProviderGroup.objects.filter(pk=self.obj.pk).values_list("name", flat=True).first()
        )
        self.obj.save()
        if created:
            record(
                "group.provisioned",
                actor=_actor(self.request),
                target=self.obj,
                details={"group": self.obj.name},
            )
        members = getattr(self, "_members", None)
        if members is not None:
            self._members = None
            self._apply(lambda: self.obj.members.set(members))
        if old_name is not None and old_name != self.obj.name:
            record(
                "group.changed",
                actor=_actor(self.request),
                target=self.obj,
                details={"group": self.obj.name, "previous_name": old_name},
            )
            for person in self.obj.members.all():
                services.roles_apply_mapping(user=person, via="SCIM")

    @transaction.atomic
    def delete(self):
        people = list(self.obj.members.all())
        record(
            "group.removed",
            actor=_actor(self.request),
            target=self.obj,
            details={"group": self.obj.name},
        )
        self.obj.delete()
        for person in people:
            services.roles_apply_mapping(user=person, via="SCIM")

    def handle_add(self, path, value, operation):
        if path is None or path.first_path == ("members", None, None):
            if path is None and isinstance(value, dict):
                return self.handle_replace(path, value, operation)
            ids = _member_ids(value if isinstance(value, list) else [value])
            self._apply(lambda: self.obj.members.add(*ids))
        else:
            self.handle_replace(path, value, operation)

    def handle_remove(self, path, value, operation):
        if path.first_path == ("externalId", None, None):
            self.obj.external_id = ""
            self.save()
            return
        if path.first_path[0] != "members":
            raise exceptions.BadRequestError(
                f"{path.first_path[0]} cannot be removed from a group.", scim_type="mutability"
            )
        if path.is_complex:
            # members[value eq "42"]: the filter names the member.
            ids = {int(v) for v in _filtered_member_ids(path)}
        elif value:
            ids = _member_ids(value if isinstance(value, list) else [value])
        else:
            ids = set(self.obj.members.values_list("pk", flat=True))
        self._apply(lambda: self.obj.members.remove(*ids))

    def handle_replace(self, path, value, operation):
        if path is None or not hasattr(path, "first_path"):
            pairs = [(self.split_path(k), v) for k, v in (value or {}).items()]
        else:
            pairs = [(path, value)]
        for attr_path, attr_value in pairs:
            first = attr_path.first_path
            if first == ("displayName", None, None):
                self.obj.name = str(attr_value)[:200]
            elif first == ("externalId", None, None):
                self.obj.external_id = str(attr_value or "")[:255]
            elif first == ("members", None, None):
                ids = _member_ids(attr_value)
                self._apply(lambda ids=ids: self.obj.members.set(ids))
            else:
                raise exceptions.NotImplementedError(f"{first[0]} cannot be changed here.")
        self.save()

    def parse_path_and_values(self, path, value):
        if not path and isinstance(value, dict):
            return [(None, value)]
        return super().parse_path_and_values(path, value)


def _filtered_member_ids(path) -> list[str]:
    values = []
    for (attr, sub, _uri), param in path.params_by_attr_paths.items():
        if attr == "members" and sub == "value" and param is not None:
            values.append(str(param))
    for value in values:
        if not value.isdigit():
            raise exceptions.BadRequestError(f"No person with id {value!r}.")
    return values


class _NumericIds:
    """Ids here are numbers; any other id is simply not found (not a server error)."""

    def get_object(self):
        if not str(self.kwargs.get(self.lookup_url_kwarg, "")).isdigit():
            raise exceptions.NotFoundError(self.kwargs.get(self.lookup_url_kwarg))
        obj = super().get_object()
        if (
            isinstance(obj, User)
            and ProvisionedPerson.objects.filter(user=obj, removed=True).exists()
        ):
            raise exceptions.NotFoundError(self.kwargs.get(self.lookup_url_kwarg))
        return obj


class _CompleteLists:
    """django-scim2's discovery lists leave out totalResults, and an unknown id gets an empty
    404; RFC 7644 asks for both (a ListResponse's count, an Error body)."""

    def get(self, request, uuid=None, *args, **kwargs):
        if uuid:
            response = super().get(request, uuid, *args, **kwargs)
            if response.status_code == 404:
                raise exceptions.NotFoundError(uuid)
            return response
        response = super().get(request, *args, **kwargs)
        doc = json.loads(response.content)
        doc.update(
            totalResults=len(doc["Resources"]), itemsPerPage=len(doc["Resources"]), startIndex=1
        )
        response.content = json.dumps(doc)
        return response


class ResourceTypesView(_CompleteLists, scim_views.ResourceTypesView):
    pass


class SchemasView(_CompleteLists, scim_views.SchemasView):
    # Each schema says what it is (RFC 7643 §7), which django-scim2's documents leave out.
    schemas_by_uri = {
        uri: {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], **doc}
        for uri, doc in scim_views.SchemasView.schemas_by_uri.items()
    }


@csrf_exempt  # bearer-token requests from the provider carry no CSRF cookie
def not_implemented(request, *args, **kwargs):
    """Searching every resource type at once is not offered (search /Users or /Groups)."""
    error = exceptions.SCIMException("Search /Users/.search or /Groups/.search instead.")
    error.status = 501
    return HttpResponse(
        json.dumps(error.to_dict()), status=501, content_type="application/scim+json"
    )


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other address under /scim/v2/: a SCIM error, as clients expect, not a page."""
    error = exceptions.NotFoundError(request.path)
    error.detail = "Nothing is served at this address."
    return HttpResponse(
        json.dumps(error.to_dict()), status=404, content_type="application/scim+json"
    )


class _CountedPages:
    """django-scim2 counts a list by loading every row; a query set is counted by the database
    and only the page asked for is loaded."""

    def _build_response(self, request, qs, start, count):
        if not isinstance(qs, QuerySet):
            return super()._build_response(request, qs, start, count)
        total = qs.count()
        resources = [
            self.scim_adapter(obj, request=request).to_dict()
            for obj in qs[start - 1 : start - 1 + count]
        ]
        doc = {
            "schemas": [constants.SchemaURI.LIST_RESPONSE],
            "totalResults": total,
            "itemsPerPage": len(resources),
            "startIndex": start,
            "Resources": resources,
        }
        return HttpResponse(json.dumps(doc), content_type=constants.SCIM_CONTENT_TYPE)


class UsersView(_NumericIds, _CountedPages, scim_views.UsersView):
    pass


class GroupsView(_NumericIds, _CountedPages, scim_views.GroupsView):
    pass


urlpatterns = [
    re_path(r"^$", scim_views.SCIMView.as_view(implemented=False), name="root"),
    re_path(r"^\.search$", not_implemented, name="search"),
    re_path(r"^Users/\.search$", scim_views.UserSearchView.as_view(), name="users-search"),
    re_path(r"^Users(?:/(?P<uuid>[^/]+))?$", UsersView.as_view(), name="users"),
    re_path(r"^Groups/\.search$", scim_views.GroupSearchView.as_view(), name="groups-search"),
    re_path(r"^Groups(?:/(?P<uuid>[^/]+))?$", GroupsView.as_view(), name="groups"),
    re_path(r"^Me$", scim_views.SCIMView.as_view(implemented=False), name="me"),
    re_path(
        r"^ServiceProviderConfig$",
        scim_views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(
        r"^ResourceTypes(?:/(?P<uuid>[^/]+))?$",
        ResourceTypesView.as_view(),
        name="resource-types",
    ),
    re_path(r"^Schemas(?:/(?P<uuid>[^/]+))?$", SchemasView.as_view(), name="schemas"),
    re_path(r"^Bulk$", scim_views.SCIMView.as_view(implemented=False), name="bulk"),
    re_path(r"", not_found),
]
