"""Every action in the registered list writes exactly one audit event, with the right actor,
target and reason, when done through the real services and pages, and no other event beyond
the few declared below."""

import copy
import json
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import ACTIONS, AuditEvent
from audit.services import record
from common.errors import Conflict
from configs import services as config_services
from configs.models import Namespace, Role
from configs.selectors import newest_version as newest
from identity import services as identity_services
from identity.models import GroupRole, ProviderGroup
from push.services import webhook_create, webhook_remove
from reviews import services
from tests.values import with_company

pytestmark = pytest.mark.django_db


# The actions that deliberately come with a second event. A bypass is a publish too, and the
# log shows both that the version was published and that the approvals were skipped; a restore
# is proposed as a change request like any other change, reviewed the same way. Any other
# extra event is a duplicate, and fails the test.
ALSO_RECORDED = {
    "auth.locked_out": ["auth.login_failed"],
    "version.bypass": ["change_request.published"],
    "version.restored": ["change_request.opened"],
    # Removing a person over SCIM deactivates them first (their access ends), then unlists them.
    "person.removed": ["person.deactivated"],
}


@dataclass
class Step:
    """What a driver does (`act`, returning the event's target), and the actor and reason
    (text, or a function giving it once the action is done) the event should hold."""

    act: Any
    actor: Any
    reason: Any = ""


def with_metric(config, name):
    value = copy.deepcopy(newest(config).value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    return value


def propose(config, author, company_id="acme", title="Add acme"):
    return services.change_request_open(
        config=config,
        author=author,
        value=with_company(config, company_id),
        title=title,
        base_version=newest(config).number,
    )


def publish_now(config, author, name, **kwargs):
    """A change in sales-ops (no approval needed), published by its author."""
    change_request = services.change_request_open(
        config=config,
        author=author,
        value=with_metric(config, name),
        title=f"Add {name}",
        base_version=newest(config).number,
    )
    return services.change_request_publish(change_request=change_request, actor=author, **kwargs)


# --- one driver per action: set up, then a Step that does exactly the action ----------------


def namespace_created(p):
    return Step(
        lambda: config_services.namespace_create(slug="ops", name="Ops", actor=p.carol), p.carol
    )


def policy_changed(p):
    namespace = Namespace.objects.get(slug="sales-ops")
    return Step(
        lambda: config_services.namespace_update(
            namespace=namespace, actor=p.carol, reason="Two pairs of eyes", required_approvals=2
        ),
        p.carol,
        "Two pairs of eyes",
    )


def membership_changed(p):
    namespace = Namespace.objects.get(slug="sales-ops")
    return Step(
        lambda: config_services.membership_set(
            namespace=namespace, user=p.erin, role=Role.VIEWER, actor=p.carol
        ),
        p.carol,
    )


SCHEMA = {"type": "object", "properties": {"on": {"type": "boolean"}}}


def schema_created(p):
    return Step(
        lambda: config_services.schema_create(name="flags", body=SCHEMA, actor=p.carol), p.carol
    )


def schema_changed(p):
    schema = config_services.schema_create(name="flags", body=SCHEMA, actor=p.carol)
    looser = {**SCHEMA, "additionalProperties": True}
    return Step(
        lambda: config_services.schema_update(
            schema=schema, body=looser, actor=p.carol, reason="Allow more flags"
        ),
        p.carol,
        "Allow more flags",
    )


def config_created(p):
    namespace = Namespace.objects.get(slug="sales-ops")
    return Step(
        lambda: config_services.config_create(
            namespace=namespace, key="flags", name="Flags", value={"on": True}, actor=p.carol
        ),
        p.carol,
    )


def config_changed(p):
    return Step(
        lambda: config_services.config_update(
            config=p.metrics, actor=p.carol, reason="Bob helps", owners=[p.carol, p.bob]
        ),
        p.carol,
        "Bob helps",
    )


def _root():
    return get_user_model().objects.create_superuser("root", password="x")


def environment_added(p):
    root = _root()
    return Step(
        lambda: config_services.environment_add(
            name="qa", title="QA", actor=root, reason="Testers try releases"
        ),
        root,
        "Testers try releases",
    )


def environment_changed(p):
    from configs.models import Environment

    root = _root()
    staging = Environment.objects.get(name="staging")
    return Step(
        lambda: config_services.environment_update(
            environment=staging, actor=root, reason="As the team says it", name="preprod"
        ),
        root,
        "As the team says it",
    )


def environment_moved(p):
    from configs.models import Environment

    root = _root()
    staging = Environment.objects.get(name="staging")
    return Step(
        lambda: config_services.environment_move(environment=staging, actor=root, later=False),
        root,
    )


def opened(p):
    return Step(lambda: propose(p.timezones, p.alice), p.alice, "Add acme")


def edited(p):
    change_request = propose(p.timezones, p.alice)
    value = copy.deepcopy(change_request.value)
    value["companies"][-1]["timezone"] = "Europe/Berlin"
    return Step(
        lambda: services.change_request_edit(
            change_request=change_request, actor=p.alice, value=value
        ),
        p.alice,
    )


def submitted(p):
    change_request = services.change_request_open(
        config=p.timezones,
        author=p.alice,
        value=with_company(p.timezones, "acme"),
        title="Add acme",
        base_version=newest(p.timezones).number,
        draft=True,
    )
    return Step(
        lambda: services.change_request_submit(change_request=change_request, actor=p.alice),
        p.alice,
        "Add acme",
    )


def approved(p):
    change_request = propose(p.timezones, p.alice)
    return Step(
        lambda: (
            services.change_request_approve(
                change_request=change_request, reviewer=p.bob, comment="Checked with Acme"
            ).change_request
        ),
        p.bob,
        "Checked with Acme",
    )


def changes_requested(p):
    change_request = propose(p.timezones, p.alice)
    return Step(
        lambda: (
            services.change_request_request_changes(
                change_request=change_request, reviewer=p.bob, comment="Acme is in Berlin"
            ).change_request
        ),
        p.bob,
        "Acme is in Berlin",
    )


def commented(p):
    change_request = propose(p.timezones, p.alice)

    def act():
        services.change_request_comment(
            change_request=change_request, actor=p.dave, body="Since when?"
        )
        return change_request

    return Step(act, p.dave, "Since when?")


def withdrawn(p):
    change_request = propose(p.timezones, p.alice)
    return Step(
        lambda: services.change_request_withdraw(
            change_request=change_request, actor=p.alice, reason="Acme stayed"
        ),
        p.alice,
        "Acme stayed",
    )


def rejected(p):
    change_request = propose(p.timezones, p.alice)
    return Step(
        lambda: services.change_request_reject(
            change_request=change_request, actor=p.bob, reason="Acme is not a customer"
        ),
        p.bob,
        "Acme is not a customer",
    )


def _two_proposals(p):
    winner = propose(p.timezones, p.carol, "globex-2", "Add globex-2")
    other = propose(p.timezones, p.alice)
    services.change_request_approve(change_request=winner, reviewer=p.bob)
    return winner, other


def conflicted(p):
    # Publishing another change conflicts this one too, but writes its own published event: here
    # the version this change builds on is cancelled instead, so publishing it finds it stale.
    scheduled = publish_now(
        p.metrics, p.alice, "signups", effective_at=timezone.now() + timedelta(days=1)
    )
    stale = services.change_request_open(
        config=p.metrics,
        author=p.alice,
        value=with_metric(p.metrics, "orders"),
        title="Add orders",
        base_version=scheduled.number,
    )
    config_services.version_cancel(version=scheduled, actor=p.bob, reason="Too early")

    def act():
        with pytest.raises(Conflict):
            services.change_request_publish(change_request=stale, actor=p.alice)
        return stale

    return Step(
        act,
        p.alice,
        lambda: (
            f"{p.metrics} is now at version {newest(p.metrics).number}; this change was based "
            f"on version {scheduled.number}."
        ),
    )


def rebased(p):
    winner, other = _two_proposals(p)
    services.change_request_publish(change_request=winner, actor=p.bob)
    merged = with_company(p.timezones, "acme")
    return Step(
        lambda: services.change_request_rebase(change_request=other, actor=p.alice, value=merged),
        p.alice,
    )


def published(p):
    change_request = propose(p.timezones, p.alice)
    services.change_request_approve(change_request=change_request, reviewer=p.bob)

    def act():
        services.change_request_publish(change_request=change_request, actor=p.bob)
        return change_request

    return Step(act, p.bob, "Add acme")


def bypass(p):
    change_request = propose(p.timezones, p.alice)

    def act():
        services.change_request_publish(
            change_request=change_request, actor=p.carol, bypass_reason="Acme goes live today"
        )
        return change_request

    return Step(act, p.carol, "Acme goes live today")


def cancelled(p):
    version = publish_now(
        p.metrics, p.alice, "signups", effective_at=timezone.now() + timedelta(days=1)
    )
    return Step(
        lambda: config_services.version_cancel(version=version, actor=p.bob, reason="Too early"),
        p.bob,
        "Too early",
    )


def restored(p):
    first = newest(p.metrics)
    publish_now(p.metrics, p.alice, "signups")

    def act():
        services.version_restore(version=first, actor=p.alice, reason="signups double-counts")
        return first

    return Step(act, p.alice, "signups double-counts")


def token_created(p):
    create = config_services.token_create
    namespace = Namespace.objects.get(slug="sales-ops")
    return Step(
        lambda: create(user=p.alice, name="nightly job", namespaces=[namespace], actor=p.alice)[0],
        p.alice,
    )


def token_revoked(p):
    create, revoke = config_services.token_create, config_services.token_revoke
    namespace = Namespace.objects.get(slug="sales-ops")
    token, _ = create(user=p.alice, name="nightly job", namespaces=[namespace], actor=p.alice)
    return Step(
        lambda: revoke(token=token, actor=p.carol, reason="Leaked in a log"),
        p.carol,
        "Leaked in a log",
    )


def webhook_created(p):
    namespace = Namespace.objects.get(slug="sales-ops")
    return Step(
        lambda: webhook_create(
            namespace=namespace,
            url="https://93.184.216.34/config",
            events=["version.published"],
            actor=p.carol,
        )[0],
        p.carol,
        "",
    )


def webhook_removed(p):
    namespace = Namespace.objects.get(slug="sales-ops")
    webhook, _ = webhook_create(
        namespace=namespace, url="https://93.184.216.34/c", events=["version.live"], actor=p.carol
    )
    removed = copy.copy(webhook)  # keeps its id, which deleting clears

    return Step(
        lambda: webhook_remove(webhook=webhook, actor=p.carol, reason="Moved to chat") or removed,
        p.carol,
        "Moved to chat",
    )


def logged_in(p):
    def act():
        response = p.client.post(
            "/accounts/login/", {"username": "alice", "password": p.passwords["alice"]}
        )
        assert response.status_code == 302
        return p.alice

    return Step(act, p.alice)


def login_failed(p):
    def act():
        response = p.client.post("/accounts/login/", {"username": "alice", "password": "guess"})
        assert response.status_code == 200
        return p.alice

    return Step(act, None)


def locked_out(p):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        p.client.post("/accounts/login/", {"username": "alice", "password": f"guess-{attempt}"})

    def act():
        response = p.client.post("/accounts/login/", {"username": "alice", "password": "last"})
        assert response.status_code == 429
        return p.alice

    return Step(act, None)


def refused_while_locked(p):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        p.client.post("/accounts/login/", {"username": "alice", "password": f"guess-{attempt}"})

    def act():  # the first attempt refused by the lock is counted in an event; later ones less
        response = p.client.post("/accounts/login/", {"username": "alice", "password": "again"})
        assert response.status_code == 429
        return p.alice

    return Step(act, None)


def denied(p):
    p.client.force_login(p.dave)

    def act():
        response = p.client.get("/configs/data-pipelines/company-timezones/edit/")
        assert response.status_code == 403
        return None

    return Step(act, p.dave, "You need the editor role in data-pipelines to propose changes.")


# --- schema change requests ------------------------------------------------------------------


def _owner_team_schema(p):
    body = copy.deepcopy(p.timezones.schema.body)
    item = body["properties"]["companies"]["items"]
    item["properties"]["owner_team"] = {"type": "string", "default": "data"}
    item["required"] = [*item["required"], "owner_team"]
    return body


def _schema_change(p):
    return services.schema_change_open(
        schema=p.timezones.schema,
        author=p.carol,
        body=_owner_team_schema(p),
        base_version=1,
        title="Owner teams",
    )


def schema_change_opened(p):
    return Step(lambda: _schema_change(p), p.carol, "Owner teams")


def schema_change_edited(p):
    change = _schema_change(p)
    body = _owner_team_schema(p)
    body["description"] = "Every company has a team that owns it."

    def act():
        return services.change_request_edit(change_request=change, actor=p.carol, body=body)

    return Step(act, p.carol)


def schema_change_submitted(p):
    change = services.schema_change_open(
        schema=p.timezones.schema,
        author=p.carol,
        body=_owner_team_schema(p),
        base_version=1,
        title="Owner teams",
        draft=True,
    )

    def act():
        return services.change_request_submit(change_request=change, actor=p.carol)

    return Step(act, p.carol, "Owner teams")


def schema_change_approved(p):
    change = _schema_change(p)
    return Step(
        lambda: (
            services.change_request_approve(
                change_request=change, reviewer=p.bob, comment="Fine"
            ).change_request
        ),
        p.bob,
        "Fine",
    )


def schema_change_changes_requested(p):
    change = _schema_change(p)
    return Step(
        lambda: (
            services.change_request_request_changes(
                change_request=change, reviewer=p.bob, comment="Not yet"
            ).change_request
        ),
        p.bob,
        "Not yet",
    )


def schema_change_withdrawn(p):
    change = _schema_change(p)
    return Step(
        lambda: services.change_request_withdraw(
            change_request=change, actor=p.carol, reason="Later"
        ),
        p.carol,
        "Later",
    )


def schema_change_rejected(p):
    change = _schema_change(p)
    return Step(
        lambda: services.change_request_reject(
            change_request=change, actor=p.bob, reason="Teams are in the directory"
        ),
        p.bob,
        "Teams are in the directory",
    )


def _schema_change_overtaken(p):
    """A schema change overtaken by a config's version published past its base: like every
    change request on that config, it is conflicted there and then."""
    change = _schema_change(p)
    services.change_request_approve(change_request=change, reviewer=p.bob)
    services.change_request_publish(
        change_request=propose(p.timezones, p.carol), actor=p.carol, bypass_reason="Urgent"
    )
    change.refresh_from_db()
    assert change.status == "conflicted"
    return change


def schema_change_conflicted(p):
    # As for a config's change request: the version its config's change builds on is cancelled,
    # so publishing it finds it stale (publishing another change conflicts it too, but writes
    # its own published event).
    scheduled = services.change_request_publish(
        change_request=propose(p.timezones, p.carol),
        actor=p.carol,
        bypass_reason="Acme starts next week",
        effective_at=timezone.now() + timedelta(days=1),
    )
    change = services.schema_change_open(
        schema=p.timezones.schema,
        author=p.carol,
        body=_owner_team_schema(p),
        base_version=1,
        title="Owner teams",
    )
    services.change_request_approve(change_request=change, reviewer=p.bob)
    config_services.version_cancel(version=scheduled, actor=p.bob, reason="Too early")

    def act():
        with pytest.raises(Conflict):
            services.change_request_publish(change_request=change, actor=p.bob)
        return change

    return Step(
        act,
        p.bob,
        lambda: (
            f"data-pipelines/company-timezones moved past version {scheduled.number}. "
            "Rebase the schema change on what is there now."
        ),
    )


def schema_change_rebased(p):
    change = _schema_change_overtaken(p)
    return Step(
        lambda: services.change_request_rebase(change_request=change, actor=p.carol), p.carol
    )


def schema_change_published(p):
    change = _schema_change(p)
    services.change_request_approve(change_request=change, reviewer=p.bob)

    def act():
        services.change_request_publish(change_request=change, actor=p.bob)
        return change

    return Step(
        act,
        p.bob,
        "Owner teams",
    )


def schema_change_bypass(p):
    change = _schema_change(p)

    def act():
        services.change_request_publish(
            change_request=change, actor=p.carol, bypass_reason="Dashboards need it today"
        )
        return change

    return Step(act, p.carol, "Dashboards need it today")


# Sign-in with the identity provider and SCIM provisioning ---------------------------------------

SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scim(p):
    """Calls /scim/v2/ as the identity provider, with a token named "okta"."""
    _, secret = identity_services.scim_token_create(name="okta")

    def call(method, path, body=None):
        response = getattr(p.client, method)(
            f"/scim/v2/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/scim+json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code < 300, response.content
        return response.json() if response.content else None

    return call


OKTA = identity_services.ProvisioningActor(token_name="okta")


def _scim_person(call, name="frank"):
    body = {"schemas": [SCIM_USER], "userName": name, "active": True}
    return get_user_model().objects.get(pk=call("post", "Users", body)["id"])


def _patch(call, path, operations):
    return call("patch", path, {"schemas": [SCIM_PATCH], "Operations": operations})


def person_signed_up(p):
    who = SimpleNamespace(pk=None, username="")

    def act():
        user = identity_services.person_sign_in_with_provider(
            issuer="https://idp.example.com",
            claims={"sub": "00u-frank", "preferred_username": "frank", "groups": ["staff"]},
            username_claim="preferred_username",
            groups_claim="groups",
            provider="Okta",
        )
        who.pk, who.username = user.pk, user.username
        return user

    return Step(act, who)


def person_provisioned(p):
    call = _scim(p)
    return Step(lambda: _scim_person(call), OKTA)


def person_changed(p):
    call = _scim(p)
    frank = _scim_person(call)
    return Step(
        lambda: (
            _patch(
                call,
                f"Users/{frank.pk}",
                [{"op": "replace", "path": "userName", "value": "franklin"}],
            )
            and frank
        ),
        OKTA,
    )


def person_deactivated(p):
    call = _scim(p)
    frank = _scim_person(call)
    ops = [{"op": "replace", "value": {"active": False}}]
    return Step(lambda: _patch(call, f"Users/{frank.pk}", ops) and frank, OKTA)


def person_reactivated(p):
    call = _scim(p)
    frank = _scim_person(call)
    _patch(call, f"Users/{frank.pk}", [{"op": "replace", "value": {"active": False}}])
    ops = [{"op": "replace", "value": {"active": True}}]
    return Step(lambda: _patch(call, f"Users/{frank.pk}", ops) and frank, OKTA)


def person_removed(p):
    call = _scim(p)
    frank = _scim_person(call)
    return Step(lambda: call("delete", f"Users/{frank.pk}") or frank, OKTA)


def group_provisioned(p):
    call = _scim(p)

    def act():
        group = call("post", "Groups", {"schemas": [SCIM_GROUP], "displayName": "staff"})
        return ProviderGroup.objects.get(pk=group["id"])

    return Step(act, OKTA)


def group_changed(p):
    call = _scim(p)
    frank = _scim_person(call)
    group = call("post", "Groups", {"schemas": [SCIM_GROUP], "displayName": "staff"})
    ops = [{"op": "add", "path": "members", "value": [{"value": str(frank.pk)}]}]
    return Step(
        lambda: (
            _patch(call, f"Groups/{group['id']}", ops) and ProviderGroup.objects.get(pk=group["id"])
        ),
        OKTA,
    )


def group_removed(p):
    call = _scim(p)
    group = ProviderGroup.objects.get(
        pk=call("post", "Groups", {"schemas": [SCIM_GROUP], "displayName": "staff"})["id"]
    )

    def act():
        pk = group.pk
        call("delete", f"Groups/{pk}")
        group.pk = pk
        return group

    return Step(act, OKTA)


def group_role_set(p):
    namespace = Namespace.objects.get(slug="data-pipelines")
    return Step(
        lambda: identity_services.group_role_set(
            group_name="pipeline-team", namespace=namespace, role=Role.EDITOR, actor=p.carol
        ),
        p.carol,
    )


def group_role_removed(p):
    namespace = Namespace.objects.get(slug="data-pipelines")
    mapping = identity_services.group_role_set(
        group_name="pipeline-team", namespace=namespace, role=Role.EDITOR, actor=p.carol
    )

    def act():
        pk = mapping.pk
        identity_services.group_role_remove(mapping=mapping, actor=p.carol)
        mapping.pk = pk
        return mapping

    return Step(act, p.carol)


def membership_mapped(p):
    namespace = Namespace.objects.get(slug="data-pipelines")
    GroupRole.objects.create(group_name="pipeline-team", namespace=namespace, role=Role.EDITOR)
    ProviderGroup.objects.create(name="pipeline-team").members.add(p.erin)
    return Step(
        lambda: identity_services.roles_apply_mapping(user=p.erin, via="sign-in") and p.erin, None
    )


def scim_token_created(p):
    return Step(lambda: identity_services.scim_token_create(name="okta", actor=p.carol)[0], p.carol)


def scim_token_revoked(p):
    root = get_user_model().objects.create_superuser("root", password="x")
    token, _ = identity_services.scim_token_create(name="okta")
    return Step(lambda: identity_services.scim_token_revoke(token=token, actor=root), root)


DRIVERS = {
    "namespace.created": namespace_created,
    "namespace.policy_changed": policy_changed,
    "membership.changed": membership_changed,
    "schema.created": schema_created,
    "schema.changed": schema_changed,
    "config.created": config_created,
    "config.changed": config_changed,
    "environment.added": environment_added,
    "environment.changed": environment_changed,
    "environment.moved": environment_moved,
    "change_request.opened": opened,
    "change_request.edited": edited,
    "change_request.submitted": submitted,
    "change_request.approved": approved,
    "change_request.changes_requested": changes_requested,
    "change_request.commented": commented,
    "change_request.withdrawn": withdrawn,
    "change_request.rejected": rejected,
    "change_request.conflicted": conflicted,
    "change_request.rebased": rebased,
    "change_request.published": published,
    "version.bypass": bypass,
    "version.cancelled": cancelled,
    "version.restored": restored,
    "token.created": token_created,
    "token.revoked": token_revoked,
    "webhook.created": webhook_created,
    "webhook.removed": webhook_removed,
    "auth.login": logged_in,
    "auth.login_failed": login_failed,
    "auth.locked_out": locked_out,
    "auth.refused_while_locked": refused_while_locked,
    "access.denied": denied,
    "person.signed_up": person_signed_up,
    "person.provisioned": person_provisioned,
    "person.changed": person_changed,
    "person.deactivated": person_deactivated,
    "person.reactivated": person_reactivated,
    "person.removed": person_removed,
    "group.provisioned": group_provisioned,
    "group.changed": group_changed,
    "group.removed": group_removed,
    "group_role.set": group_role_set,
    "group_role.removed": group_role_removed,
    "membership.mapped": membership_mapped,
    "scim_token.created": scim_token_created,
    "scim_token.revoked": scim_token_revoked,
}


# A schema change is a change request: each step of its life records the change request's
# action (one event per namespace whose configs change: here data-pipelines alone).
SCHEMA_CHANGE_DRIVERS = {
    "change_request.opened": schema_change_opened,
    "change_request.edited": schema_change_edited,
    "change_request.submitted": schema_change_submitted,
    "change_request.approved": schema_change_approved,
    "change_request.changes_requested": schema_change_changes_requested,
    "change_request.withdrawn": schema_change_withdrawn,
    "change_request.rejected": schema_change_rejected,
    "change_request.conflicted": schema_change_conflicted,
    "change_request.rebased": schema_change_rebased,
    "change_request.published": schema_change_published,
    "version.bypass": schema_change_bypass,
}

# Registered only so the log still names the events schema changes wrote before they were
# change requests; nothing records them any more.
RETIRED = {action for action in ACTIONS if action.startswith("schema_change.")}


def test_every_registered_action_has_a_test():
    assert set(DRIVERS) == set(ACTIONS) - RETIRED
    assert RETIRED == {
        "schema_change.opened",
        "schema_change.edited",
        "schema_change.submitted",
        "schema_change.approved",
        "schema_change.changes_requested",
        "schema_change.withdrawn",
        "schema_change.conflicted",
        "schema_change.rebased",
        "schema_change.published",
        "schema_change.bypass",
    }


@dataclass
class People:
    client: Any
    passwords: dict
    alice: Any
    bob: Any
    carol: Any
    dave: Any
    erin: Any
    timezones: Any
    metrics: Any


def _actions(drivers, kind):
    return [pytest.param(drivers, action, id=f"{kind}:{action}") for action in drivers]


@pytest.mark.parametrize(
    "drivers, action",
    _actions(DRIVERS, "any") + _actions(SCHEMA_CHANGE_DRIVERS, "schema change"),
)
def test_each_action_writes_exactly_one_event_with_actor_target_and_reason(
    drivers, action, client, demo, alice, bob, carol, dave, erin, timezones, metrics
):
    people = People(client, demo, alice, bob, carol, dave, erin, timezones, metrics)
    step = drivers[action](people)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    target = step.act()

    written = list(AuditEvent.objects.filter(pk__gt=last).order_by("id"))
    assert sorted(e.action for e in written) == sorted([action, *ALSO_RECORDED.get(action, [])])
    [event] = [e for e in written if e.action == action]
    assert event.actor_id == (step.actor.pk if step.actor else None)
    assert event.actor_name == (step.actor.username if step.actor else "")
    if target is None:
        assert (event.target_type, event.target_id) == ("", "")
    else:
        assert event.target_type == target._meta.label_lower
        assert event.target_id == str(target.pk)
    reason = step.reason() if callable(step.reason) else step.reason
    assert event.reason == reason


def test_a_publish_records_each_change_request_it_conflicts(alice, bob, carol, timezones):
    winner = propose(timezones, carol, "globex-2", "Add globex-2")
    other = propose(timezones, alice)
    services.change_request_approve(change_request=winner, reviewer=bob)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    version = services.change_request_publish(change_request=winner, actor=bob)

    written = AuditEvent.objects.filter(pk__gt=last).order_by("id")
    assert [(e.action, e.target_id, e.actor_name, e.reason) for e in written] == [
        ("change_request.published", str(winner.pk), "bob", "Add globex-2"),
        (
            "change_request.conflicted",
            str(other.pk),
            "bob",
            f"Version {version.number} was published.",
        ),
    ]


def test_a_failed_login_records_the_username_and_address_but_never_the_password(client, demo):
    client.post("/accounts/login/", {"username": "nobody", "password": "hunter2-secret"})

    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.details == {"username": "nobody", "ip": "127.0.0.1"}
    assert (event.target_type, event.target_id) == ("", "")
    assert "hunter2" not in str(event.details) + event.reason + event.target_repr


def test_a_login_records_who_and_from_where(client, demo):
    client.post("/accounts/login/", {"username": "bob", "password": demo["bob"]})

    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_name == "bob"
    assert event.details == {"ip": "127.0.0.1"}


def test_a_denied_action_records_the_page_method_message_and_namespace(client, dave):
    client.force_login(dave)
    response = client.post("/configs/data-pipelines/company-timezones/edit/", {})

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert event.actor == dave
    assert (event.namespace, event.config) == ("data-pipelines", "company-timezones")
    assert event.reason == "You need the editor role in data-pipelines to propose changes."
    assert event.details == {
        "path": "/configs/data-pipelines/company-timezones/edit/",
        "method": "POST",
        "ip": "127.0.0.1",
    }


def test_a_page_not_found_is_not_a_denied_action(client, erin):
    client.force_login(erin)
    response = client.get("/configs/data-pipelines/company-timezones/edit/")

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="access.denied").exists()


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="Unknown audit action"):
        record("config.deleted", actor=None, target=get_user_model()(pk=1))
