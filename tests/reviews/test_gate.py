"""The rules of the review gate, through the services the console and API call."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.models import AuditEvent
from common.errors import Conflict, InvalidValue, RuleViolation
from configs import services as config_services
from configs.models import Role
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from reviews import services
from reviews.gate import can_publish, gate_for
from reviews.models import ChangeRequest, Review
from tests.values import with_company

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------


def with_metric(config, name):
    value = copy.deepcopy(newest(config).value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    return value


def propose(config, author, value, title="Add a company", **kwargs):
    kwargs.setdefault("base_version", newest(config).number)
    return services.change_request_open(
        config=config, author=author, value=value, title=title, **kwargs
    )


def reload(change_request):
    return ChangeRequest.objects.get(pk=change_request.pk)


def second_reviewer(config, username="frank"):
    """Another reviewer in the config's namespace (the demo has only bob)."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-12345678")
    config_services.membership_set(namespace=config.namespace, user=user, role=Role.REVIEWER)
    return user


def version_numbers(config):
    return list(versions_of(config).order_by("number").values_list("number", flat=True))


# --- rule 1: the author never counts as an approver ------------------------------------------


def test_author_cannot_approve_own_change(timezones, carol):
    cr = propose(timezones, carol, with_company(timezones, "hooli"))

    with pytest.raises(PermissionDenied, match="Authors cannot review their own change"):
        services.change_request_approve(change_request=cr, reviewer=carol, comment="LGTM")

    cr = reload(cr)
    assert cr.status == ChangeRequest.Status.IN_REVIEW
    assert cr.reviews.count() == 0
    assert gate_for(cr).approvers == []


def test_author_approval_never_counts_even_if_one_was_recorded(timezones, carol):
    cr = propose(timezones, carol, with_company(timezones, "hooli"))
    # However it got there (an import, the admin), the author's own approval is not counted.
    Review.objects.create(
        change_request=cr,
        reviewer=carol,
        verdict=Review.Verdict.APPROVE,
        proposal_hash=cr.proposal_hash,
        revision=cr.revision,
    )

    gate = gate_for(reload(cr))

    assert gate.approvers == []
    assert gate.missing == ["1 more approval"]
    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=cr, actor=carol)
    assert version_numbers(timezones) == [1]


# --- rule 2: an approval is for one exact value ----------------------------------------------


def test_edit_dismisses_earlier_approvals(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_approve(change_request=cr, reviewer=bob, comment="Fine")
    assert reload(cr).status == ChangeRequest.Status.APPROVED

    edited = with_company(timezones, "hooli", "Europe/London")
    services.change_request_edit(change_request=cr, actor=alice, value=edited)

    cr = reload(cr)
    assert cr.status == ChangeRequest.Status.IN_REVIEW
    assert cr.revision == 2
    assert cr.value == edited
    assert cr.reviews.get(reviewer=bob).dismissed_at is not None
    assert gate_for(cr).approvers == []
    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=cr, actor=bob)
    assert version_numbers(timezones) == [1]


def test_approval_after_the_edit_lets_the_edited_value_be_published(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_approve(change_request=cr, reviewer=bob)
    edited = with_company(timezones, "hooli", "Europe/London")
    services.change_request_edit(change_request=cr, actor=alice, value=edited)

    services.change_request_approve(change_request=cr, reviewer=bob, comment="Still fine")
    version = services.change_request_publish(change_request=cr, actor=bob)

    assert version.number == 2
    assert version.value == edited
    assert reload(cr).status == ChangeRequest.Status.PUBLISHED


def test_only_the_author_can_edit_a_change_request(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(PermissionDenied, match="Only the author can edit"):
        services.change_request_edit(
            change_request=cr, actor=bob, value=with_company(timezones, "other")
        )
    assert reload(cr).revision == 1


# --- rule 3: requested changes block publishing ----------------------------------------------


def test_requested_changes_block_publishing_until_that_reviewer_approves(timezones, alice, bob):
    frank = second_reviewer(timezones)
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    services.change_request_request_changes(
        change_request=cr, reviewer=bob, comment="Hooli is in Berlin"
    )
    assert reload(cr).status == ChangeRequest.Status.CHANGES_REQUESTED

    services.change_request_approve(change_request=cr, reviewer=frank, comment="Looks fine to me")
    cr = reload(cr)
    assert cr.status == ChangeRequest.Status.CHANGES_REQUESTED
    with pytest.raises(RuleViolation, match=r"bob to approve \(they requested changes\)"):
        services.change_request_publish(change_request=cr, actor=frank)
    assert version_numbers(timezones) == [1]

    services.change_request_approve(change_request=cr, reviewer=bob, comment="OK now")
    assert reload(cr).status == ChangeRequest.Status.APPROVED
    version = services.change_request_publish(change_request=cr, actor=frank)
    assert version.number == 2


def test_an_edit_does_not_lift_a_request_for_changes(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_request_changes(change_request=cr, reviewer=bob, comment="Berlin")

    services.change_request_edit(
        change_request=cr, actor=alice, value=with_company(timezones, "hooli", "Europe/Berlin")
    )

    cr = reload(cr)
    assert cr.status == ChangeRequest.Status.CHANGES_REQUESTED
    assert gate_for(cr).blockers == [bob]


def test_requesting_changes_needs_a_comment(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(ValidationError, match="A comment saying what to change is required"):
        services.change_request_request_changes(change_request=cr, reviewer=bob, comment="  ")
    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW


# --- rule 4: the policy comes from the namespace, overridable per config ---------------------


def test_required_approvals_come_from_the_namespace_policy(timezones, metrics, alice):
    on_timezones = propose(timezones, alice, with_company(timezones, "hooli"))
    on_metrics = propose(metrics, alice, with_metric(metrics, "refunds"))

    assert gate_for(on_timezones).required == 1
    assert reload(on_timezones).status == ChangeRequest.Status.IN_REVIEW
    assert gate_for(on_metrics).required == 0
    assert reload(on_metrics).status == ChangeRequest.Status.APPROVED


def test_config_can_require_more_approvals_than_its_namespace(timezones, alice, bob):
    frank = second_reviewer(timezones)
    timezones.required_approvals = 2
    timezones.save()
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    services.change_request_approve(change_request=cr, reviewer=bob)
    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW
    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=cr, actor=bob)

    services.change_request_approve(change_request=cr, reviewer=frank)
    assert reload(cr).status == ChangeRequest.Status.APPROVED
    assert services.change_request_publish(change_request=cr, actor=bob).number == 2


def test_config_can_need_no_approval_in_a_reviewed_namespace(timezones, alice):
    timezones.required_approvals = 0
    timezones.save()

    cr = propose(timezones, alice, with_company(timezones, "hooli"), publish=True)

    assert cr.status == ChangeRequest.Status.PUBLISHED
    assert cr.published_version.number == 2
    assert cr.published_version.published_by == alice


def test_namespace_can_require_an_owner_to_approve(timezones, alice, bob):
    frank = second_reviewer(timezones)  # a reviewer, but not an owner (bob is)
    namespace = timezones.namespace
    namespace.owner_approval_required = True
    namespace.save()
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    services.change_request_approve(change_request=cr, reviewer=frank)
    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW
    with pytest.raises(RuleViolation, match="an approval from one of the config's owners"):
        services.change_request_publish(change_request=cr, actor=frank)

    services.change_request_approve(change_request=cr, reviewer=bob)
    assert services.change_request_publish(change_request=cr, actor=frank).number == 2


def test_config_can_waive_the_owner_approval_its_namespace_requires(timezones, alice):
    frank = second_reviewer(timezones)
    timezones.namespace.owner_approval_required = True
    timezones.namespace.save()
    timezones.owner_approval_required = False
    timezones.save()
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    services.change_request_approve(change_request=cr, reviewer=frank)

    assert reload(cr).status == ChangeRequest.Status.APPROVED
    assert services.change_request_publish(change_request=cr, actor=frank).number == 2


def test_config_can_require_an_owner_in_a_namespace_that_does_not(timezones, alice, bob):
    frank = second_reviewer(timezones)
    timezones.owner_approval_required = True
    timezones.save()
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    services.change_request_approve(change_request=cr, reviewer=frank)

    assert gate_for(reload(cr)).missing == ["an approval from one of the config's owners"]
    with pytest.raises(RuleViolation):
        services.change_request_publish(change_request=cr, actor=frank)
    services.change_request_approve(change_request=cr, reviewer=bob)
    assert services.change_request_publish(change_request=cr, actor=frank).number == 2


# --- rule 5: publishing checks the base -----------------------------------------------------


def test_second_of_two_approved_changes_on_one_base_is_conflicted(timezones, alice, carol, bob):
    first = propose(timezones, alice, with_company(timezones, "hooli"))
    second = propose(
        timezones, carol, with_company(timezones, "pied-piper"), title="Add Pied Piper"
    )
    services.change_request_approve(change_request=first, reviewer=bob)
    services.change_request_approve(change_request=second, reviewer=bob)

    assert services.change_request_publish(change_request=first, actor=bob).number == 2
    assert reload(second).status == ChangeRequest.Status.CONFLICTED

    with pytest.raises(Conflict, match="now at version 2"):
        services.change_request_publish(change_request=second, actor=bob)
    assert reload(second).status == ChangeRequest.Status.CONFLICTED
    assert version_numbers(timezones) == [1, 2]
    assert newest(timezones).value == first.value


def test_conflicted_change_can_be_rebased_and_published_as_the_next_version(
    timezones, alice, carol, bob
):
    first = propose(timezones, alice, with_company(timezones, "hooli"))
    second = propose(
        timezones, carol, with_company(timezones, "pied-piper"), title="Add Pied Piper"
    )
    services.change_request_approve(change_request=first, reviewer=bob)
    services.change_request_approve(change_request=second, reviewer=bob)
    services.change_request_publish(change_request=first, actor=bob)

    merged = with_company(timezones, "pied-piper", base=newest(timezones).value)
    services.change_request_rebase(change_request=second, actor=carol, value=merged)

    second = reload(second)
    assert second.status == ChangeRequest.Status.IN_REVIEW
    assert second.base_version.number == 2
    # The approval was for the value on the old base.
    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=second, actor=bob)

    services.change_request_approve(change_request=second, reviewer=bob)
    version = services.change_request_publish(change_request=second, actor=bob)

    assert version.number == 3
    assert [c["company_id"] for c in version.value["companies"]][-2:] == ["hooli", "pied-piper"]
    assert reload(second).status == ChangeRequest.Status.PUBLISHED


def test_publish_on_a_moved_base_marks_the_change_conflicted_and_keeps_it(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_approve(change_request=cr, reviewer=bob)
    # The config moves on by a path that does not go through this change request's gate.
    with transaction.atomic():
        config_services.version_publish(
            config=timezones, value=with_company(timezones, "other"), base_number=1, actor=bob
        )

    with pytest.raises(Conflict, match="now at version 2; this change was based on version 1"):
        services.change_request_publish(change_request=cr, actor=bob)

    assert reload(cr).status == ChangeRequest.Status.CONFLICTED
    assert AuditEvent.objects.filter(
        action="change_request.conflicted", target_id=str(cr.pk)
    ).exists()
    assert version_numbers(timezones) == [1, 2]


def test_publishing_marks_other_open_changes_on_the_old_base_conflicted(
    timezones, alice, carol, bob
):
    published = propose(timezones, alice, with_company(timezones, "hooli"))
    waiting = propose(timezones, carol, with_company(timezones, "pied-piper"), title="Pied Piper")
    withdrawn = propose(timezones, alice, with_company(timezones, "initrode"), title="Initrode")
    services.change_request_withdraw(change_request=withdrawn, actor=alice)
    services.change_request_approve(change_request=published, reviewer=bob)

    services.change_request_publish(change_request=published, actor=bob)

    assert reload(waiting).status == ChangeRequest.Status.CONFLICTED
    assert reload(withdrawn).status == ChangeRequest.Status.WITHDRAWN


def test_only_the_author_can_rebase(timezones, alice, carol, bob):
    first = propose(timezones, carol, with_company(timezones, "hooli"))
    second = propose(timezones, alice, with_company(timezones, "pied-piper"))
    services.change_request_approve(change_request=first, reviewer=bob)
    services.change_request_publish(change_request=first, actor=bob)

    with pytest.raises(PermissionDenied, match="Only the author can rebase"):
        services.change_request_rebase(
            change_request=second, actor=bob, value=with_company(timezones, "pied-piper")
        )
    assert reload(second).status == ChangeRequest.Status.CONFLICTED


def test_rebase_accepts_only_a_conflicted_change(timezones, alice):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(RuleViolation, match="is in review; it cannot be rebased"):
        services.change_request_rebase(
            change_request=cr, actor=alice, value=with_company(timezones, "pied-piper")
        )
    cr = reload(cr)
    assert cr.status == ChangeRequest.Status.IN_REVIEW
    assert cr.revision == 1


@pytest.mark.parametrize("status", list(ChangeRequest.Status))
def test_every_state_lists_what_it_allows_in_one_table(status):
    allowed = {action for action, states in ChangeRequest.ACTIONS.items() if status in states}

    if status in ChangeRequest.OPEN:
        assert "withdraw" in allowed
    else:
        assert allowed == {"comment"}
    assert ("rebase" in allowed) == (
        status in (ChangeRequest.Status.CONFLICTED, ChangeRequest.Status.CONFLICTED_DRAFT)
    )
    assert ("approve" in allowed) == (status in ChangeRequest.IN_REVIEW_STATES)


# --- rule 6: bypass --------------------------------------------------------------------------


def test_admin_can_bypass_the_approvals_with_a_reason(timezones, alice, carol):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    version = services.change_request_publish(
        change_request=cr, actor=carol, bypass_reason="Hooli's reports are wrong today"
    )

    assert version.number == 2
    assert version.bypass_reason == "Hooli's reports are wrong today"
    assert version.is_bypass
    assert version.published_by == carol
    assert reload(cr).status == ChangeRequest.Status.PUBLISHED
    bypass = AuditEvent.objects.get(action="version.bypass")
    assert bypass.actor == carol
    assert bypass.reason == "Hooli's reports are wrong today"
    assert bypass.details["version"] == 2
    assert bypass.details["missing"] == ["1 more approval"]


def test_bypass_of_an_approved_change_is_a_normal_publish(timezones, alice, bob, carol):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_approve(change_request=cr, reviewer=bob)

    version = services.change_request_publish(
        change_request=cr, actor=carol, bypass_reason="Ship it before the meeting"
    )

    assert not version.is_bypass
    assert not AuditEvent.objects.filter(action="version.bypass").exists()
    published = AuditEvent.objects.get(action="change_request.published")
    assert published.details["bypass"] is False
    assert published.details["approved_by"] == ["bob"]
    assert published.details["note"] == "Ship it before the meeting"


def test_reviewer_cannot_bypass(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(PermissionDenied, match="admin role in data-pipelines"):
        services.change_request_publish(change_request=cr, actor=bob, bypass_reason="Urgent")

    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW
    assert version_numbers(timezones) == [1]
    assert not AuditEvent.objects.filter(action="version.bypass").exists()


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_bypass_needs_a_written_reason(timezones, alice, carol, reason):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(ValidationError, match="A reason for the bypass is required"):
        services.change_request_publish(change_request=cr, actor=carol, bypass_reason=reason)

    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW
    assert version_numbers(timezones) == [1]


def test_admin_without_a_bypass_reason_still_needs_the_approvals(timezones, alice, carol):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(RuleViolation, match="Cannot publish yet: it needs 1 more approval"):
        services.change_request_publish(change_request=cr, actor=carol)
    assert version_numbers(timezones) == [1]


# --- who may do what -------------------------------------------------------------------------


def test_editor_publishes_directly_where_no_approval_is_needed(metrics, alice):
    before = newest(metrics).number
    value = with_metric(metrics, "refunds")

    cr = propose(metrics, alice, value, title="Add refunds", publish=True)

    assert cr.status == ChangeRequest.Status.PUBLISHED
    version = newest(metrics)
    assert version.number == before + 1
    assert version.value == value
    assert version.published_by == alice
    assert version.bypass_reason == ""
    assert cr.published_version == version


def test_editor_can_publish_own_open_change_where_no_approval_is_needed(metrics, alice):
    cr = propose(metrics, alice, with_metric(metrics, "refunds"))

    version = services.change_request_publish(change_request=cr, actor=alice)

    assert version.number == 2
    assert version.published_by == alice


def test_editor_cannot_publish_where_approvals_are_needed(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_approve(change_request=cr, reviewer=bob)

    with pytest.raises(PermissionDenied, match="reviewer role in data-pipelines to publish"):
        services.change_request_publish(change_request=cr, actor=alice)
    assert version_numbers(timezones) == [1]


def test_open_and_publish_at_once_is_refused_whole_where_approvals_are_needed(timezones, alice):
    with pytest.raises(PermissionDenied):
        propose(timezones, alice, with_company(timezones, "hooli"), publish=True)

    assert not ChangeRequest.objects.filter(changes__config=timezones).exists()
    assert version_numbers(timezones) == [1]


@pytest.mark.parametrize(
    "persona, on_timezones, on_metrics",
    [
        ("alice", False, True),  # the author, an editor
        ("bob", True, True),
        ("carol", True, True),
        ("dave", False, False),
        ("erin", False, False),
    ],
)
def test_who_can_publish_a_change_by_alice(
    request, timezones, metrics, alice, persona, on_timezones, on_metrics
):
    user = request.getfixturevalue(persona)
    in_review = propose(timezones, alice, with_company(timezones, "hooli"))
    direct = propose(metrics, alice, with_metric(metrics, "refunds"))

    assert can_publish(user, in_review) is on_timezones
    assert can_publish(user, direct) is on_metrics


@pytest.mark.parametrize("persona", ["dave", "erin"])
def test_viewer_or_outsider_cannot_open_a_change_request(request, timezones, persona):
    user = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied, match="editor role in data-pipelines"):
        propose(timezones, user, with_company(timezones, "hooli"))
    assert not ChangeRequest.objects.exists()


def test_reviewer_role_is_needed_to_approve(timezones, alice, carol, dave):
    cr = propose(timezones, carol, with_company(timezones, "hooli"))

    for user in (alice, dave):
        with pytest.raises(PermissionDenied, match="reviewer role"):
            services.change_request_approve(change_request=cr, reviewer=user)
    assert cr.reviews.count() == 0


def test_invalid_value_is_refused_with_the_path_of_each_problem(timezones, alice):
    value = copy.deepcopy(newest(timezones).value)
    value["companies"][0]["timezone"] = "Mars/Olympus_Mons"
    value["companies"][2]["color"] = "blue"

    with pytest.raises(InvalidValue) as excinfo:
        propose(timezones, alice, value)

    paths = [error["path"] for error in excinfo.value.errors]
    assert paths == ["/companies/0/timezone", "/companies/2/color"]
    assert all(error["message"] for error in excinfo.value.errors)
    assert str(excinfo.value) == "The value has 2 problems."
    assert not ChangeRequest.objects.exists()


def test_invalid_edit_is_refused_and_keeps_the_proposal(timezones, alice):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(InvalidValue):
        services.change_request_edit(
            change_request=cr, actor=alice, value=with_company(timezones, "hooli", "Nowhere")
        )
    cr = reload(cr)
    assert cr.revision == 1
    assert cr.value["companies"][-1] == {"company_id": "hooli", "timezone": "UTC"}


@pytest.mark.parametrize("base", [None, 0, 2])
def test_change_must_be_based_on_the_newest_version(timezones, alice, base):
    with pytest.raises(Conflict, match="is at version 1, not"):
        propose(timezones, alice, with_company(timezones, "hooli"), base_version=base)
    assert not ChangeRequest.objects.exists()


def test_change_needs_a_title(timezones, alice):
    with pytest.raises(ValidationError, match="A title saying why is required"):
        propose(timezones, alice, with_company(timezones, "hooli"), title=" ")


def test_only_the_author_can_withdraw(timezones, alice, bob, carol):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    for user in (bob, carol):
        with pytest.raises(PermissionDenied, match="Only the author can withdraw"):
            services.change_request_withdraw(change_request=cr, actor=user)
    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW

    services.change_request_withdraw(change_request=cr, actor=alice, reason="Not needed")
    assert reload(cr).status == ChangeRequest.Status.WITHDRAWN


def test_withdrawn_change_cannot_be_approved_or_published(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))
    services.change_request_withdraw(change_request=cr, actor=alice)

    with pytest.raises(RuleViolation, match="is withdrawn; it cannot be reviewed"):
        services.change_request_approve(change_request=cr, reviewer=bob)
    with pytest.raises(RuleViolation, match="is withdrawn; it cannot be published"):
        services.change_request_publish(change_request=cr, actor=bob)
    assert version_numbers(timezones) == [1]


def test_reviewer_can_reject_with_a_reason(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"))

    with pytest.raises(ValidationError, match="A reason for rejecting is required"):
        services.change_request_reject(change_request=cr, actor=bob, reason="")
    services.change_request_reject(change_request=cr, actor=bob, reason="Hooli is not a customer")

    assert reload(cr).status == ChangeRequest.Status.REJECTED
    with pytest.raises(RuleViolation, match="is rejected"):
        services.change_request_publish(change_request=cr, actor=bob)


def test_editor_cannot_reject(timezones, carol, alice):
    cr = propose(timezones, carol, with_company(timezones, "hooli"))

    with pytest.raises(PermissionDenied):
        services.change_request_reject(change_request=cr, actor=alice, reason="No")
    assert reload(cr).status == ChangeRequest.Status.IN_REVIEW


# --- the audit trail -------------------------------------------------------------------------


def test_opening_approving_and_publishing_are_audited(timezones, alice, bob):
    cr = propose(timezones, alice, with_company(timezones, "hooli"), title="Add Hooli")
    services.change_request_approve(change_request=cr, reviewer=bob, comment="Checked with sales")
    services.change_request_publish(change_request=cr, actor=bob)

    events = AuditEvent.objects.filter(target_type="reviews.changerequest", target_id=str(cr.pk))
    by_action = {e.action: e for e in events}
    assert {"change_request.opened", "change_request.approved", "change_request.published"} <= set(
        by_action
    )
    opened = by_action["change_request.opened"]
    assert (opened.actor_name, opened.reason, opened.namespace, opened.config) == (
        "alice",
        "Add Hooli",
        "data-pipelines",
        "company-timezones",
    )
    assert opened.details["base_version"] == 1
    assert opened.details["diff"]
    approved = by_action["change_request.approved"]
    assert (approved.actor_name, approved.reason) == ("bob", "Checked with sales")
    published = by_action["change_request.published"]
    assert published.actor_name == "bob"
    assert published.details["version"] == 2
    assert published.details["approved_by"] == ["bob"]
    assert published.details["bypass"] is False
