"""The gate's rules as people meet them: each test names one rule, through the service and,
where it applies, the console and the API."""

import copy
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from common.errors import RuleViolation
from configs.diff import sentences
from configs.models import Membership, Role
from configs.selectors import newest_version as newest
from configs.services import membership_remove, membership_set
from reviews import selectors, services
from reviews.gate import can_publish, gate_for
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status


def propose(config, author, company_id="hooli", **kwargs):
    return services.change_request_open(
        config=config,
        author=author,
        value=with_company(config, company_id),
        title=f"Add {company_id}",
        base_version=newest(config).number,
        **kwargs,
    )


def reload(change_request):
    return ChangeRequest.objects.get(pk=change_request.pk)


def with_metric(config, name):
    value = copy.deepcopy(newest(config).value)
    value["metrics"].append({"name": name, "kind": "count", "event": name})
    return value


def demote(user, config, role=Role.VIEWER):
    membership_set(namespace=config.namespace, user=user, role=role)


# --- a reviewer's queue keeps every change that still needs them -----------------------------


@pytest.fixture
def needs_two(timezones):
    namespace = timezones.namespace
    namespace.required_approvals = 2
    namespace.save()
    return timezones


def test_a_reviewers_queue_keeps_a_change_whose_approval_was_dismissed(
    needs_two, alice, bob, carol, client
):
    cr = propose(needs_two, alice)
    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_edit(
        change_request=cr, actor=alice, value=with_company(needs_two, "initech")
    )
    services.change_request_approve(change_request=cr, reviewer=carol)

    assert gate_for(reload(cr)).missing == ["1 more approval"]
    assert cr in list(selectors.waiting_for(bob))
    client.force_login(bob)
    page = client.get("/changes/inbox/").content.decode()
    assert f"/changes/{cr.pk}/" in page


def test_a_reviewers_queue_drops_a_change_they_approved_as_it_stands(needs_two, alice, bob):
    cr = propose(needs_two, alice)
    services.change_request_approve(change_request=cr, reviewer=bob)

    assert cr not in list(selectors.waiting_for(bob))


# --- roles are checked again on every transition ---------------------------------------------


@pytest.fixture
def conflicted(timezones, alice, carol, bob):
    mine = propose(timezones, alice, "pied-piper")
    theirs = propose(timezones, carol, "hooli")
    services.change_request_approve(change_request=theirs, reviewer=bob)
    services.change_request_publish(change_request=theirs, actor=bob)
    assert reload(mine).status == Status.CONFLICTED
    return reload(mine)


def test_an_author_demoted_to_viewer_cannot_edit(timezones, alice):
    cr = propose(timezones, alice)
    demote(alice, timezones)

    with pytest.raises(PermissionDenied, match="editor role"):
        services.change_request_edit(
            change_request=cr, actor=alice, value=with_company(timezones, "initech")
        )
    assert reload(cr).revision == 1


def test_an_author_demoted_to_viewer_cannot_rebase(timezones, conflicted, alice):
    demote(alice, timezones)

    with pytest.raises(PermissionDenied, match="editor role"):
        services.change_request_rebase(
            change_request=conflicted,
            actor=alice,
            value=with_company(timezones, "pied-piper", base=newest(timezones).value),
        )
    assert reload(conflicted).status == Status.CONFLICTED


def test_an_author_demoted_to_viewer_cannot_submit(timezones, alice):
    draft = propose(timezones, alice, draft=True)
    demote(alice, timezones)

    with pytest.raises(PermissionDenied, match="editor role"):
        services.change_request_submit(change_request=draft, actor=alice)
    assert reload(draft).status == Status.DRAFT


def test_an_author_demoted_to_viewer_cannot_publish(metrics, alice):
    cr = services.change_request_open(
        config=metrics,
        author=alice,
        value=with_metric(metrics, "signups"),
        title="Note",
        base_version=newest(metrics).number,
    )
    assert can_publish(alice, cr)
    demote(alice, metrics)
    alice = type(alice).objects.get(pk=alice.pk)

    assert not can_publish(alice, cr)
    with pytest.raises(PermissionDenied):
        services.change_request_publish(change_request=cr, actor=alice)
    assert reload(cr).status != Status.PUBLISHED


def test_an_author_demoted_to_viewer_cannot_edit_from_the_console(client, timezones, alice):
    cr = propose(timezones, alice)
    demote(alice, timezones)
    client.force_login(alice)

    page = client.get(f"/changes/{cr.pk}/").content.decode()

    assert f"/changes/{cr.pk}/edit/" not in page


def test_an_approval_by_someone_no_longer_a_reviewer_does_not_count(timezones, alice, bob):
    cr = propose(timezones, alice)
    services.change_request_approve(change_request=cr, reviewer=bob)
    assert gate_for(reload(cr)).satisfied
    demote(bob, timezones)

    gate = gate_for(reload(cr))
    assert gate.approvers == []
    assert gate.missing == ["1 more approval"]
    with pytest.raises(RuleViolation, match="1 more approval"):
        services.change_request_publish(change_request=reload(cr), actor=timezones_admin())
    assert newest(timezones).number == 1


def timezones_admin():
    return Membership.objects.get(namespace__slug="data-pipelines", role=Role.ADMIN).user


def test_a_removed_members_open_change_can_still_be_withdrawn(timezones, alice, carol):
    cr = propose(timezones, alice)
    membership_remove(namespace=timezones.namespace, user=alice, actor=carol)

    services.change_request_withdraw(change_request=cr, actor=alice)

    assert reload(cr).status == Status.WITHDRAWN


def test_a_removed_member_withdraws_their_change_from_the_console(client, timezones, alice, carol):
    cr = propose(timezones, alice)
    membership_remove(namespace=timezones.namespace, user=alice, actor=carol)
    client.force_login(alice)

    assert "Withdraw" in client.get(f"/changes/{cr.pk}/").content.decode()
    client.post(f"/changes/{cr.pk}/withdraw/")

    assert reload(cr).status == Status.WITHDRAWN


def test_a_removed_member_withdraws_their_change_over_the_api(timezones, alice, carol):
    cr = propose(timezones, alice)
    _token, secret = make_token(alice, "data-pipelines", write=True)
    membership_remove(namespace=timezones.namespace, user=alice, actor=carol)

    response = client_for(secret).post(f"/api/v1/change-requests/{cr.pk}/withdraw/", {})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    assert reload(cr).status == Status.WITHDRAWN


def test_a_removed_member_still_cannot_read_others_changes_over_the_api(
    timezones, alice, bob, carol
):
    cr = propose(timezones, carol)
    _token, secret = make_token(alice, "data-pipelines", write=True)
    membership_remove(namespace=timezones.namespace, user=alice, actor=carol)

    response = client_for(secret).post(f"/api/v1/change-requests/{cr.pk}/withdraw/", {})

    assert response.status_code == 404
    assert reload(cr).status == Status.IN_REVIEW


# --- reordering array items is a change ------------------------------------------------------

EDIT = "/configs/data-pipelines/company-timezones/edit/"


def initech_first(config):
    value = copy.deepcopy(newest(config).value)
    companies = value["companies"]
    initech = next(c for c in companies if c["company_id"] == "initech")
    companies.remove(initech)
    companies.insert(0, initech)
    return value


def edit_post(client, config, value, **extra):
    data = {
        "editor": "raw",
        "raw": json.dumps(value),
        "title": "Initech first",
        "base_version": newest(config).number,
        **extra,
    }
    return client.post(EDIT, data)


def test_reordering_array_items_is_a_change_said_in_words(timezones):
    before = newest(timezones).value

    assert sentences(before, initech_first(timezones), timezones.schema.body) == [
        "Companies: order changed: initech moved before acme"
    ]


def test_reordering_array_items_is_accepted_by_the_console(client, timezones, alice):
    client.force_login(alice)

    preview = edit_post(client, timezones, initech_first(timezones)).content.decode()
    assert "Nothing has changed" not in preview
    assert "order changed: initech moved before acme" in preview
    edit_post(client, timezones, initech_first(timezones), confirmed="1")

    cr = ChangeRequest.objects.get()
    assert [c["company_id"] for c in cr.value["companies"]][0] == "initech"


def test_reordering_array_items_is_a_change_request_over_the_api(timezones, alice):
    _token, secret = make_token(alice, "data-pipelines", write=True)

    response = client_for(secret).post(
        "/api/v1/configs/data-pipelines/company-timezones/change-requests/",
        {"value": initech_first(timezones), "base_version": 1, "title": "Initech first"},
        format="json",
    )

    assert response.status_code == 201, response.content


# --- a change request that changes nothing is refused ----------------------------------------


def test_a_change_request_that_changes_nothing_is_refused(timezones, alice):
    with pytest.raises(ValidationError, match="Nothing would change"):
        services.change_request_open(
            config=timezones,
            author=alice,
            value=newest(timezones).value,
            title="No-op",
            base_version=1,
        )
    assert not ChangeRequest.objects.exists()


def test_an_edit_back_to_the_base_value_is_refused(timezones, alice):
    cr = propose(timezones, alice)

    with pytest.raises(ValidationError, match="Nothing would change"):
        services.change_request_edit(change_request=cr, actor=alice, value=newest(timezones).value)
    assert reload(cr).revision == 1


def test_a_change_request_that_changes_nothing_is_refused_over_the_api(timezones, alice):
    _token, secret = make_token(alice, "data-pipelines", write=True)

    response = client_for(secret).post(
        "/api/v1/configs/data-pipelines/company-timezones/change-requests/",
        {"value": newest(timezones).value, "base_version": 1, "title": "No-op"},
        format="json",
    )

    assert response.status_code == 400
    assert "Nothing would change" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_a_change_request_that_changes_nothing_is_refused_in_the_console(client, timezones, alice):
    client.force_login(alice)

    page = edit_post(client, timezones, newest(timezones).value, confirmed="1").content.decode()

    assert "Nothing has changed" in page
    assert not ChangeRequest.objects.exists()


def test_an_edit_back_to_the_base_value_is_refused_in_the_console(client, timezones, alice):
    cr = propose(timezones, alice)
    client.force_login(alice)

    page = client.post(
        f"/changes/{cr.pk}/edit/",
        {"editor": "raw", "raw": json.dumps(newest(timezones).value), "title": "Back"},
    ).content.decode()

    assert "Nothing would change" in page
    assert reload(cr).revision == 1


# --- a draft stays a draft -------------------------------------------------------------------


@pytest.fixture
def overtaken_draft(timezones, alice, carol, bob, django_capture_on_commit_callbacks, mailoutbox):
    """alice's draft, after carol's change to the same config was published."""
    draft = propose(timezones, alice, "pied-piper", draft=True)
    theirs = propose(timezones, carol, "hooli")
    services.change_request_approve(change_request=theirs, reviewer=bob)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_publish(change_request=theirs, actor=bob)
    # Only mail about alice's draft matters here (carol hears that hers was published).
    mailoutbox[:] = [m for m in mailoutbox if alice.email in m.to]
    return reload(draft)


def test_a_draft_overtaken_by_a_publish_stays_a_draft(overtaken_draft, mailoutbox):
    assert overtaken_draft.status == Status.CONFLICTED_DRAFT
    assert overtaken_draft.is_draft
    assert overtaken_draft not in ChangeRequest.objects.filter(
        status__in=ChangeRequest.IN_REVIEW_STATES
    )
    assert mailoutbox == []


@pytest.mark.parametrize("act", ["approve", "request_changes", "reject"])
def test_reviewers_cannot_act_on_a_conflicted_draft(overtaken_draft, bob, act):
    call = {
        "approve": lambda: services.change_request_approve(
            change_request=overtaken_draft, reviewer=bob
        ),
        "request_changes": lambda: services.change_request_request_changes(
            change_request=overtaken_draft, reviewer=bob, comment="no"
        ),
        "reject": lambda: services.change_request_reject(
            change_request=overtaken_draft, actor=bob, reason="no"
        ),
    }[act]

    with pytest.raises(RuleViolation, match="is a draft"):
        call()
    assert reload(overtaken_draft).status == Status.CONFLICTED_DRAFT


def test_rebasing_a_draft_keeps_it_a_draft_and_asks_nobody(
    overtaken_draft, timezones, alice, django_capture_on_commit_callbacks, mailoutbox
):
    merged = with_company(timezones, "pied-piper", base=newest(timezones).value)

    with django_capture_on_commit_callbacks(execute=True):
        services.change_request_rebase(change_request=overtaken_draft, actor=alice, value=merged)

    draft = reload(overtaken_draft)
    assert draft.status == Status.DRAFT
    assert draft.base_version == newest(timezones)
    assert mailoutbox == []


def test_a_conflicted_draft_offers_reviewers_nothing_in_the_console(client, overtaken_draft, bob):
    client.force_login(bob)

    page = client.get(f"/changes/{overtaken_draft.pk}/").content.decode()
    client.post(f"/changes/{overtaken_draft.pk}/reject/", {"comment": "no"})

    assert 'value="Approve"' not in page
    assert "/reject/" not in page
    assert reload(overtaken_draft).status == Status.CONFLICTED_DRAFT


def test_a_conflicted_draft_is_refused_to_reviewers_over_the_api(overtaken_draft, bob):
    _token, secret = make_token(bob, "data-pipelines", write=True)

    response = client_for(secret).post(
        f"/api/v1/change-requests/{overtaken_draft.pk}/approve/", {}, format="json"
    )

    assert response.status_code == 409
    assert "draft" in response.json()["detail"]


def test_rebasing_a_draft_from_the_console_keeps_it_a_draft(
    client, overtaken_draft, timezones, alice
):
    client.force_login(alice)
    merged = with_company(timezones, "pied-piper", base=newest(timezones).value)

    client.post(
        f"/changes/{overtaken_draft.pk}/rebase/",
        {"editor": "raw", "raw": json.dumps(merged), "title": overtaken_draft.title},
    )

    assert reload(overtaken_draft).status == Status.DRAFT
