"""The write contract, over HTTP: each row and each of its errors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from configs.selectors import newest_version as newest
from configs.selectors import versions_of
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token
from tests.values import with_company

pytestmark = pytest.mark.django_db

PROPOSE = "/api/v1/configs/data-pipelines/company-timezones/change-requests/"


def writer(user, *slugs):
    _token, secret = make_token(user, *(slugs or ("data-pipelines", "sales-ops")), write=True)
    return client_for(secret)


def proposal(config, company_id="hooli", **fields):
    body = {
        "value": with_company(config, company_id),
        "base_version": newest(config).number,
        "title": f"Add {company_id}",
        "description": "Their contract starts Monday.",
    }
    return {**body, **fields}


def cr_url(pk, action=""):
    return f"/api/v1/change-requests/{pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def opened(timezones, alice):
    """A change request alice opened over the API, with its id."""
    response = writer(alice).post(PROPOSE, proposal(timezones), format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- propose --------------------------------------------------------------------------------


def test_propose_opens_a_change_request_already_in_review(timezones, alice):
    response = writer(alice).post(PROPOSE, proposal(timezones), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "in_review"
    assert body["author"] == "alice"
    assert body["base_version"] == 1
    assert body["approvals"] == []
    assert body["missing"] == ["1 more approval"]
    assert body["value"]["companies"][-1]["company_id"] == "hooli"
    assert ChangeRequest.objects.get(pk=body["id"]).title == "Add hooli"


def test_invalid_value_is_400_naming_each_path(timezones, alice):
    value = with_company(timezones, "hooli", timezone="Mars/Olympus")

    response = writer(alice).post(PROPOSE, proposal(timezones, value=value), format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["path"] for error in errors] == ["/companies/3/timezone"]
    assert errors[0]["message"]
    assert not ChangeRequest.objects.exists()


def test_base_version_not_the_newest_is_409(timezones, alice):
    response = writer(alice).post(PROPOSE, proposal(timezones, base_version=7), format="json")

    assert response.status_code == 409
    assert "is at version 1" in response.json()["detail"]


@pytest.mark.parametrize("missing", ["value", "base_version", "title"])
def test_proposal_missing_a_field_is_400_naming_it(timezones, alice, missing):
    body = proposal(timezones)
    del body[missing]

    response = writer(alice).post(PROPOSE, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": f"/{missing}", "message": "This field is required."}
    ]


def test_read_token_cannot_propose(timezones, alice, alice_reads):
    response = alice_reads.post(PROPOSE, proposal(timezones), format="json")

    assert response.status_code == 403
    assert "can only read" in response.json()["detail"]


def test_viewer_cannot_propose_even_with_a_write_token(timezones, dave):
    response = writer(dave).post(PROPOSE, proposal(timezones), format="json")

    assert response.status_code == 403
    assert "editor role" in response.json()["detail"]


def test_proposing_outside_the_tokens_namespaces_is_404(timezones, alice):
    response = writer(alice, "sales-ops").post(PROPOSE, proposal(timezones), format="json")

    assert response.status_code == 404


# --- read, edit ----------------------------------------------------------------------------------


def test_change_request_shows_reviews_and_comments(opened, bob):
    writer(bob).post(cr_url(opened["id"], "request-changes"), {"comment": "Use Europe/Paris"})

    body = writer(bob).get(cr_url(opened["id"])).json()

    assert body["status"] == "changes_requested"
    assert body["reviews"] == [
        {
            "reviewer": "bob",
            "verdict": "request_changes",
            "comment": "Use Europe/Paris",
            "revision": 1,
            "created_at": body["reviews"][0]["created_at"],
            "standing": True,
        }
    ]
    assert body["comments"] == []
    assert body["url"].endswith(f"/changes/{opened['id']}/")


def test_author_edit_dismisses_earlier_approvals(opened, timezones, alice, bob):
    assert writer(bob).post(cr_url(opened["id"], "approve"), {}).json()["approvals"] == ["bob"]

    value = with_company(timezones, "initrode")
    response = writer(alice).patch(cr_url(opened["id"]), {"value": value}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["approvals"] == []
    assert body["revision"] == 2
    assert body["value"] == value
    assert body["reviews"][0]["standing"] is False


def test_only_the_author_may_edit(opened, timezones, bob):
    value = with_company(timezones, "initrode")

    response = writer(bob).patch(cr_url(opened["id"]), {"value": value}, format="json")

    assert response.status_code == 403


def test_edit_with_an_invalid_value_is_400_and_keeps_the_old_value(opened, timezones, alice):
    value = with_company(timezones, "initrode", timezone="Nowhere")

    response = writer(alice).patch(cr_url(opened["id"]), {"value": value}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/companies/3/timezone"
    assert ChangeRequest.objects.get(pk=opened["id"]).value == opened["value"]


def test_unknown_change_request_is_404(demo, alice):
    assert writer(alice).get(cr_url(999999)).status_code == 404


def test_change_request_in_a_namespace_without_access_is_404(opened, erin, alice):
    _token, secret = make_token(alice, "sales-ops")

    assert client_for(secret).get(cr_url(opened["id"])).status_code == 404


# --- review ----------------------------------------------------------------------------------


def test_reviewer_approves(opened, bob):
    response = writer(bob).post(cr_url(opened["id"], "approve"), {"comment": "Looks right"})

    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["approvals"] == ["bob"]


def test_author_cannot_approve_own_change(timezones, carol):
    # Not even an admin: the author never counts as an approver of their own change.
    opened = writer(carol).post(PROPOSE, proposal(timezones), format="json").json()

    answer = writer(carol).post(cr_url(opened["id"], "approve"), {})

    assert answer.status_code == 403
    assert answer.json()["detail"] == "Authors cannot review their own change."


def test_approving_a_revision_no_longer_proposed_is_409(opened, timezones, alice, bob):
    edit = writer(alice).patch(cr_url(opened["id"]), {"value": with_company(timezones, "initrode")})
    assert edit.status_code == 200

    response = writer(bob).post(cr_url(opened["id"], "approve"), {"revision": 1})

    assert response.status_code == 409


def test_request_changes_blocks_publishing_until_that_reviewer_approves(opened, bob, carol):
    from configs.models import Role
    from configs.services import membership_set

    membership_set(namespace=carol.memberships.first().namespace, user=carol, role=Role.ADMIN)
    writer(carol).post(cr_url(opened["id"], "approve"), {})
    writer(bob).post(cr_url(opened["id"], "request-changes"), {"comment": "Wrong zone"})

    response = writer(carol).post(cr_url(opened["id"], "publish"), {})

    assert response.status_code == 409
    assert "bob to approve" in response.json()["detail"]


def test_requesting_changes_on_a_revision_no_longer_proposed_is_409(opened, timezones, alice, bob):
    edit = writer(alice).patch(cr_url(opened["id"]), {"value": with_company(timezones, "initrode")})
    assert edit.status_code == 200

    response = writer(bob).post(
        cr_url(opened["id"], "request-changes"), {"comment": "No", "revision": 1}
    )

    assert response.status_code == 409
    assert "changed since you opened it" in response.json()["detail"]


def test_request_changes_needs_a_comment(opened, bob):
    response = writer(bob).post(cr_url(opened["id"], "request-changes"), {})

    assert response.status_code == 400


# --- publish -----------------------------------------------------------------------------------


def test_publish_with_too_few_approvals_is_409(opened, bob):
    response = writer(bob).post(cr_url(opened["id"], "publish"), {})

    assert response.status_code == 409
    assert "1 more approval" in response.json()["detail"]


def test_publish_after_approval_gives_the_new_version(opened, bob, alice, timezones):
    writer(bob).post(cr_url(opened["id"], "approve"), {})

    response = writer(bob).post(cr_url(opened["id"], "publish"), {})

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2
    assert body["approved_by"] == ["bob"]
    assert body["published_by"] == "bob"
    assert body["change_request"] == opened["id"]
    assert newest(timezones).number == 2
    live = writer(alice).get("/api/v1/configs/data-pipelines/company-timezones/").json()
    assert live["version"] == 2


def test_publish_at_a_future_time_schedules_it(opened, bob, timezones):
    writer(bob).post(cr_url(opened["id"], "approve"), {})
    later = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    response = writer(bob).post(
        cr_url(opened["id"], "publish"), {"effective_at": later.isoformat()}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["effective_at"] == later.isoformat().replace("+00:00", "Z")
    assert newest(timezones).effective_at == later
    assert versions_of(timezones).live_at(timezone.now()).first().number == 1


def test_publish_when_the_base_moved_is_409_and_conflicted(opened, timezones, alice, bob):
    other = writer(alice).post(PROPOSE, proposal(timezones, "initrode"), format="json").json()
    writer(bob).post(cr_url(other["id"], "approve"), {})
    writer(bob).post(cr_url(other["id"], "publish"), {})
    writer(bob).post(cr_url(opened["id"], "approve"), {})

    response = writer(bob).post(cr_url(opened["id"], "publish"), {})

    assert response.status_code == 409
    assert writer(bob).get(cr_url(opened["id"])).json()["status"] == "conflicted"


def test_bypass_without_the_bypass_right_is_403(opened, bob):
    response = writer(bob).post(cr_url(opened["id"], "publish"), {"bypass_reason": "Urgent"})

    assert response.status_code == 403
    assert newest_number(opened) == 1


def test_blank_bypass_reason_is_400(opened, carol):
    response = writer(carol).post(cr_url(opened["id"], "publish"), {"bypass_reason": "  "})

    assert response.status_code == 400
    assert "reason" in response.json()["detail"]
    assert newest_number(opened) == 1


def test_admin_bypass_publishes_and_is_recorded_as_a_bypass(opened, carol):
    response = writer(carol).post(
        cr_url(opened["id"], "publish"), {"bypass_reason": "Customer outage"}
    )

    assert response.status_code == 200
    assert response.json()["bypass_reason"] == "Customer outage"
    assert AuditEvent.objects.filter(action="version.bypass", reason="Customer outage").count() == 1


def newest_number(opened):
    return versions_of(ChangeRequest.objects.get(pk=opened["id"]).config).count()


# --- withdraw ---------------------------------------------------------------------------------


def test_author_withdraws(opened, alice):
    response = writer(alice).post(cr_url(opened["id"], "withdraw"), {})

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_only_the_author_may_withdraw(opened, bob):
    response = writer(bob).post(cr_url(opened["id"], "withdraw"), {})

    assert response.status_code == 403
    assert ChangeRequest.objects.get(pk=opened["id"]).status == "in_review"


def test_withdrawing_twice_is_409(opened, alice):
    writer(alice).post(cr_url(opened["id"], "withdraw"), {})

    response = writer(alice).post(cr_url(opened["id"], "withdraw"), {})

    assert response.status_code == 409


# --- sessions ---------------------------------------------------------------------------------


def test_session_writes_need_the_csrf_token(timezones, alice):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post(PROPOSE, proposal(timezones), format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_session_writes_with_the_csrf_token_work(timezones, alice, client):
    client.force_login(alice)
    client.get("/configs/")  # the console page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    api = APIClient(enforce_csrf_checks=True)
    api.cookies = client.cookies

    response = api.post(PROPOSE, proposal(timezones), format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201
