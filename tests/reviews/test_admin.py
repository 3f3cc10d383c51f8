"""The admin shows change requests and their history, but never changes them."""

import copy

import pytest

from configs.selectors import versions_of
from reviews import services
from reviews.models import ChangeRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(timezones, alice, bob):
    value = copy.deepcopy(versions_of(timezones).get(number=1).value)
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    cr = services.change_request_open(
        config=timezones, author=alice, value=value, title="Add hooli", base_version=1
    )
    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)
    return cr


@pytest.fixture
def superuser(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(user)
    return user


def test_reverting_a_change_request_to_an_old_state_is_refused(client, superuser, published):
    first = published.history.order_by("history_id").first()

    response = client.post(
        f"/admin/reviews/changerequest/{published.pk}/history/{first.history_id}/"
    )

    assert response.status_code == 403
    published.refresh_from_db()
    assert published.status == ChangeRequest.Status.PUBLISHED
    assert published.published_version is not None


def test_the_change_page_only_shows(client, superuser, published):
    url = f"/admin/reviews/changerequest/{published.pk}/change/"

    assert client.get(url).status_code == 200
    client.post(url, {"title": "Rewritten"})

    published.refresh_from_db()
    assert published.title == "Add hooli"
