"""/admin/: admins edit a namespace's review policy per environment (and a config's there),
through the same audited service as everywhere."""

import pytest

from audit.models import AuditEvent
from configs.models import Environment, Namespace, ReviewPolicy
from tests.configs.test_admin import admin_client, change_url, root, untouched  # noqa: F401

pytestmark = pytest.mark.django_db

PREFIX = "policies"


def _add_row(data: dict, **fields) -> dict:
    index = int(data[f"{PREFIX}-TOTAL_FORMS"])
    data[f"{PREFIX}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{PREFIX}-{index}-{name}"] = value
    return data


def test_an_admin_sets_stagings_policy_for_a_namespace(admin_client, root):  # noqa: F811
    namespace = Namespace.objects.get(slug="data-pipelines")
    staging = Environment.objects.get(name="staging")
    page = admin_client.get(change_url(namespace))
    assert "review policies per environment" in page.content.decode().lower()
    data = _add_row(
        untouched(page), environment=str(staging.pk), required_approvals="2", bypass_allowed="false"
    )

    response = admin_client.post(change_url(namespace), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    policy = ReviewPolicy.objects.get(namespace=namespace, environment=staging)
    assert (policy.required_approvals, policy.bypass_allowed) == (2, False)
    event = AuditEvent.objects.filter(action="namespace.policy_changed").latest("id")
    assert event.actor == root
    assert event.details["environment"] == "staging"


def test_deleting_a_policy_row_falls_back_to_the_namespaces_own(admin_client):  # noqa: F811
    namespace = Namespace.objects.get(slug="data-pipelines")
    data = untouched(admin_client.get(change_url(namespace)))
    [row] = [k for k in data if k.startswith(f"{PREFIX}-") and k.endswith("-id")]
    data[row.replace("-id", "-DELETE")] = "on"

    response = admin_client.post(change_url(namespace), data)

    assert response.status_code == 302
    assert not ReviewPolicy.objects.filter(namespace=namespace).exists()
