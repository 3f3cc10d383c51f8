"""PATCH and rebase address a change request's changes as the API names them: "<ns>/<key>" in
the default environment, "<ns>/<key>@<environment>" in another. A set holding company-timezones
in staging and in production: a value given for one reaches that environment's change only."""

import pytest

from configs.selectors import newest_version
from reviews import services
from reviews.gate import gate_for
from reviews.models import ChangeRequest
from tests.values import in_staging, staging, with_company

pytestmark = pytest.mark.django_db

TIMEZONES = "data-pipelines/company-timezones"


@pytest.fixture
def api(client, alice):
    client.force_login(alice)
    return client


def _values(cr):
    cr = ChangeRequest.objects.get(pk=cr.pk)
    return {change.label: change.value for change in cr.change_list}


def _patch(api, cr, body):
    return api.patch(f"/api/v1/change-requests/{cr.pk}/", body, "application/json")


def test_patch_a_staging_value_by_name_leaves_productions(
    api, timezones, one_config_in_two_environments
):
    before = _values(one_config_in_two_environments)
    value = in_staging(timezones, "pied-piper")

    response = _patch(
        api, one_config_in_two_environments, {"values": {f"{TIMEZONES}@staging": value}}
    )

    assert response.status_code == 200, response.json()
    assert _values(one_config_in_two_environments) == {
        f"{TIMEZONES}@staging": value,
        TIMEZONES: before[TIMEZONES],
    }


@pytest.mark.parametrize("name", [TIMEZONES, f"{TIMEZONES}@production"])
def test_patch_the_default_environments_value_by_name_leaves_stagings(
    api, timezones, one_config_in_two_environments, name
):
    before = _values(one_config_in_two_environments)
    value = with_company(timezones, "pied-piper")

    response = _patch(api, one_config_in_two_environments, {"values": {name: value}})

    assert response.status_code == 200, response.json()
    assert _values(one_config_in_two_environments) == {
        f"{TIMEZONES}@staging": before[f"{TIMEZONES}@staging"],
        TIMEZONES: value,
    }


@pytest.mark.parametrize(
    "names, words",
    [
        ([f"{TIMEZONES}@development"], f"{TIMEZONES}@development is not part of"),
        (["data-pipelines/warehouse-connections"], "warehouse-connections is not part of"),
        ([TIMEZONES, f"{TIMEZONES}@production"], "names a change another key names too"),
    ],
)
def test_a_name_of_no_change_or_of_one_named_twice_is_400_naming_it(
    api, timezones, one_config_in_two_environments, names, words
):
    before = _values(one_config_in_two_environments)

    response = _patch(
        api, one_config_in_two_environments, {"values": {name: {"companies": []} for name in names}}
    )

    assert response.status_code == 400
    assert words in str(response.json())
    assert _values(one_config_in_two_environments) == before


def test_rebase_by_name_merges_the_staging_change_only(
    api, timezones, one_config_in_two_environments, bob, carol
):
    other = services.change_request_open(
        config=timezones,
        author=bob,
        value=in_staging(timezones, "initech-staging"),
        title="Published first",
        base_version=newest_version(timezones, staging()).number,
        environment=staging(),
    )
    if gate_for(other).required:
        services.change_request_approve(change_request=other, reviewer=carol)
    services.change_request_publish(change_request=other, actor=carol)
    before = _values(one_config_in_two_environments)
    merged = in_staging(timezones, "hooli")  # staging's newest (with initech-staging) and hooli

    response = api.post(
        f"/api/v1/change-requests/{one_config_in_two_environments.pk}/rebase/",
        {"values": {f"{TIMEZONES}@staging": merged}},
        "application/json",
    )

    assert response.status_code == 200, response.json()
    assert _values(one_config_in_two_environments) == {
        f"{TIMEZONES}@staging": merged,
        TIMEZONES: before[TIMEZONES],
    }


def test_rebase_with_a_name_of_no_change_is_400_naming_it(api, one_config_in_two_environments):
    response = api.post(
        f"/api/v1/change-requests/{one_config_in_two_environments.pk}/rebase/",
        {"values": {f"{TIMEZONES}@qa": {}}},
        "application/json",
    )

    assert response.status_code == 400
    assert (
        f"{TIMEZONES}@qa is not part of change request #{one_config_in_two_environments.pk}"
        in str(response.json())
    )
