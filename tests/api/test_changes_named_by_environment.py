"""PATCH and rebase address a change request's changes as the API names them: "<ns>/<key>" in
the default environment, "<ns>/<key>@<environment>" in another. A set holding company-timezones
in staging and in production: a value given for one reaches that environment's change only."""

import pytest

from configs import environments
from configs.selectors import newest_version
from reviews import services
from reviews.gate import gate_for
from reviews.models import ChangeRequest
from reviews.services import Proposed
from tests.values import with_company

pytestmark = pytest.mark.django_db

TIMEZONES = "data-pipelines/company-timezones"


def staging():
    return environments.named("staging")


def in_staging(timezones, company):
    return with_company(timezones, company, base=newest_version(timezones, staging()).value)


@pytest.fixture
def both(timezones, alice):
    return services.change_request_open(
        author=alice,
        title="Onboard hooli, move initech",
        changes=[
            Proposed(
                timezones,
                in_staging(timezones, "hooli"),
                newest_version(timezones, staging()).number,
                environment=staging(),
            ),
            Proposed(timezones, with_company(timezones, "initech-2"), 1),
        ],
    )


@pytest.fixture
def api(client, alice):
    client.force_login(alice)
    return client


def _values(cr):
    cr = ChangeRequest.objects.get(pk=cr.pk)
    return {change.label: change.value for change in cr.change_list}


def _patch(api, cr, body):
    return api.patch(f"/api/v1/change-requests/{cr.pk}/", body, "application/json")


def test_patch_a_staging_value_by_name_leaves_productions(api, timezones, both):
    before = _values(both)
    value = in_staging(timezones, "pied-piper")

    response = _patch(api, both, {"values": {f"{TIMEZONES}@staging": value}})

    assert response.status_code == 200, response.json()
    assert _values(both) == {f"{TIMEZONES}@staging": value, TIMEZONES: before[TIMEZONES]}


@pytest.mark.parametrize("name", [TIMEZONES, f"{TIMEZONES}@production"])
def test_patch_the_default_environments_value_by_name_leaves_stagings(api, timezones, both, name):
    before = _values(both)
    value = with_company(timezones, "pied-piper")

    response = _patch(api, both, {"values": {name: value}})

    assert response.status_code == 200, response.json()
    assert _values(both) == {
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
    api, timezones, both, names, words
):
    before = _values(both)

    response = _patch(api, both, {"values": {name: {"companies": []} for name in names}})

    assert response.status_code == 400
    assert words in str(response.json())
    assert _values(both) == before


def test_rebase_by_name_merges_the_staging_change_only(api, timezones, both, bob, carol):
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
    before = _values(both)
    merged = in_staging(timezones, "hooli")  # staging's newest (with initech-staging) and hooli

    response = api.post(
        f"/api/v1/change-requests/{both.pk}/rebase/",
        {"values": {f"{TIMEZONES}@staging": merged}},
        "application/json",
    )

    assert response.status_code == 200, response.json()
    assert _values(both) == {f"{TIMEZONES}@staging": merged, TIMEZONES: before[TIMEZONES]}


def test_rebase_with_a_name_of_no_change_is_400_naming_it(api, both):
    response = api.post(
        f"/api/v1/change-requests/{both.pk}/rebase/",
        {"values": {f"{TIMEZONES}@qa": {}}},
        "application/json",
    )

    assert response.status_code == 400
    assert f"{TIMEZONES}@qa is not part of change request #{both.pk}" in str(response.json())
