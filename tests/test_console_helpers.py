"""The console's shared helpers: pages of a list, read-only admin rows, errors in words."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from audit.models import AuditEvent
from common.admin_mixins import ReadOnlyAdminMixin
from common.errors import InvalidValue
from common.messages import in_words, refusal
from common.pagination import page_of


@pytest.mark.parametrize(
    ("asked", "number"), [("2", 2), ("", 1), ("x", 1), ("999", 4), ("²", 1), ("-1", 4)]
)
def test_a_page_number_that_is_not_one_gives_a_page_not_an_error(asked, number):
    request = RequestFactory().get("/", {"changes": asked})

    page = page_of(request, list(range(100)), per_page=25, param="changes")

    assert page.number == number
    assert page.param == "changes"


def test_read_only_admin_rows_cannot_be_added_changed_or_deleted():
    admin = ReadOnlyAdminMixin()
    request = RequestFactory().get("/admin/")

    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)


def test_value_problems_read_as_one_paragraph_with_their_paths():
    exc = InvalidValue([{"path": "/companies/0", "message": "Timezone: required."}])

    assert in_words(exc) == "The value has 1 problem: at /companies/0: Timezone: required."


def test_a_validation_error_reads_as_its_messages():
    assert in_words(ValidationError("A title saying why is required.")) == (
        "A title saying why is required."
    )


@pytest.mark.django_db
def test_a_refused_permission_in_the_console_is_audited(alice):
    request = RequestFactory().post("/changes/1/withdraw/")
    request.user = alice
    request.resolver_match = None

    words = refusal(request, PermissionDenied("Only the author can withdraw."), namespace="ns")

    assert words == "Only the author can withdraw."
    event = AuditEvent.objects.get(action="access.denied")
    assert event.namespace == "ns"
    assert event.actor == alice
