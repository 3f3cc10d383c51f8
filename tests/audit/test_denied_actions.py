"""A refused request is recorded, and the record survives the refused view's rollback."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.urls import include, path

from audit.models import AuditEvent


@transaction.atomic
def refusing_view(request, namespace, key):
    """Changes something, then refuses: the change must go, the denial must stay."""
    get_user_model().objects.create_user("mallory")
    raise PermissionDenied("Only admins may do this.")


# The console's own URLs too: its 403 page links back to the dashboard and the configs.
urlpatterns = [
    path("configs/<slug:namespace>/<slug:key>/danger/", refusing_view),
    path("", include("configconsole.urls")),
]


def committed_denials():
    """Read from another connection: only committed rows are there."""
    seen = []

    def read():
        try:
            seen.extend(AuditEvent.objects.filter(action="access.denied"))
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return seen


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_denial_inside_a_rolled_back_view_is_still_recorded_and_committed(client, dave):
    client.force_login(dave)

    response = client.post("/configs/sales-ops/custom-metrics/danger/")

    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="mallory").exists()
    [event] = committed_denials()
    assert (event.actor_name, event.reason) == ("dave", "Only admins may do this.")
    assert (event.namespace, event.config) == ("sales-ops", "custom-metrics")
    assert event.details["method"] == "POST"
    assert event.hash, "committed events are sealed at once"


@pytest.mark.django_db(transaction=True)
def test_a_denied_console_action_is_committed(client, dave):
    client.force_login(dave)

    response = client.get("/configs/data-pipelines/company-timezones/edit/")

    assert response.status_code == 403
    [event] = committed_denials()
    assert event.actor_name == "dave"
    assert event.details["path"] == "/configs/data-pipelines/company-timezones/edit/"
