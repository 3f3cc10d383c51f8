"""A change request for the largest value the API accepts stays a light page."""

import json

import pytest

from configs.models import canonical_json
from configs.selectors import versions_of
from reviews.services import change_request_open

pytestmark = pytest.mark.django_db

ONE_MIB = 1024 * 1024


def companies_of_size(size: int) -> list[dict]:
    """As many companies as fit in `size` bytes of canonical JSON (each one is 56 bytes)."""
    one = {"company_id": "company-000001", "timezone": "Asia/Tokyo"}
    count = (size - len('{"companies":[]}')) // (len(canonical_json(one)) + 1)
    return [{"company_id": f"company-{n:06d}", "timezone": "Asia/Tokyo"} for n in range(count)]


@pytest.fixture
def huge_proposal(timezones, alice):
    value = {"companies": companies_of_size(ONE_MIB - 200)}
    assert ONE_MIB - 1000 <= len(canonical_json(value)) <= ONE_MIB
    return change_request_open(
        config=timezones, author=alice, value=value, title="Every customer", base_version=1
    )


def test_the_change_request_page_for_a_1_mib_value_is_under_1_mb(client, huge_proposal, bob):
    client.force_login(bob)

    response = client.get(huge_proposal.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert len(response.content) < 1_000_000
    assert "Companies: added company-000000 (Asia/Tokyo)" in page
    assert "Showing the first 200 of" in page
    assert 'href="?changes=all#diff"' in page
    assert "open the side-by-side JSON" in page


def test_all_changes_and_the_side_by_side_json_load_on_demand(client, huge_proposal, bob):
    client.force_login(bob)

    everything = client.get(huge_proposal.get_absolute_url(), {"changes": "all"})
    side_by_side = client.get(f"/changes/{huge_proposal.pk}/side-by-side/")

    last = huge_proposal.value["companies"][-1]["company_id"]
    assert f"Companies: added {last} (Asia/Tokyo)" in everything.content.decode()
    assert f"&quot;{last}&quot;" in side_by_side.content.decode()
    assert side_by_side.status_code == 200


def test_a_small_change_keeps_its_side_by_side_json_inline(client, timezones, alice, bob):
    value = json.loads(versions_of(timezones).get(number=1).value_json)
    value["companies"][0]["timezone"] = "UTC"
    small = change_request_open(
        config=timezones, author=alice, value=value, title="Acme in UTC", base_version=1
    )
    client.force_login(bob)

    page = client.get(small.get_absolute_url()).content.decode()

    assert "<summary>Side by side JSON</summary>" in page
    assert "Showing the first" not in page


def test_a_person_who_may_not_see_the_config_gets_no_side_by_side(client, huge_proposal, erin):
    client.force_login(erin)

    assert client.get(f"/changes/{huge_proposal.pk}/side-by-side/").status_code == 404
