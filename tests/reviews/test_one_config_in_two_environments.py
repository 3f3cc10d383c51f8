"""A change request holding one config in two environments (company-timezones in staging and in
production): its page tells the two changes apart, and editing or rebasing one leaves the
other environment's change as it was."""

import json
import re

import pytest

from configs.selectors import newest_version
from reviews import services
from reviews.gate import gate_for
from reviews.models import ChangeRequest
from tests.values import in_staging, staging

pytestmark = pytest.mark.django_db


def _changes(cr):
    cr = ChangeRequest.objects.get(pk=cr.pk)
    return {c.env.name if c.env else None: c for c in cr.change_list}


def test_the_page_gives_each_change_its_own_ids_and_edit_link(
    client, alice, one_config_in_two_environments
):
    client.force_login(alice)
    page = client.get(one_config_in_two_environments.get_absolute_url()).content.decode()

    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    changes = _changes(one_config_in_two_environments)
    for change in changes.values():
        assert f'id="change-{change.pk}"' in page
        assert f"/changes/{one_config_in_two_environments.pk}/edit/?change={change.pk}" in page


def test_editing_the_staging_change_leaves_productions_as_it_was(
    client, alice, timezones, one_config_in_two_environments
):
    client.force_login(alice)
    before = _changes(one_config_in_two_environments)
    url = f"/changes/{one_config_in_two_environments.pk}/edit/?change={before['staging'].pk}"

    form = client.get(url).content.decode()
    assert "hooli" in form and "initech-2" not in form  # the staging change's value
    value = in_staging(timezones, "pied-piper")
    response = client.post(url, {"editor": "raw", "raw": json.dumps(value), "title": "Edited"})

    assert response.status_code == 302, response.content.decode()[:2000]
    after = _changes(one_config_in_two_environments)
    assert after["staging"].value == value
    assert after["production"].value == before["production"].value


def test_the_former_config_link_is_refused_where_it_names_two_changes(
    client, alice, timezones, one_config_in_two_environments
):
    client.force_login(alice)

    response = client.get(
        f"/changes/{one_config_in_two_environments.pk}/edit/?config={timezones.pk}"
    )

    assert response.status_code == 404


def _publish_in_staging(timezones, value, bob, carol):
    other = services.change_request_open(
        config=timezones,
        author=bob,
        value=value,
        title="Published first",
        base_version=newest_version(timezones, staging()).number,
        environment=staging(),
    )
    if gate_for(other).required:
        services.change_request_approve(change_request=other, reviewer=carol)
    services.change_request_publish(change_request=other, actor=carol)


def test_rebasing_the_staging_change_by_hand_leaves_productions_value(
    client, alice, bob, carol, timezones, one_config_in_two_environments
):
    _publish_in_staging(timezones, in_staging(timezones, "initech-staging"), bob, carol)
    before = _changes(one_config_in_two_environments)
    assert (
        ChangeRequest.objects.get(pk=one_config_in_two_environments.pk).status
        == ChangeRequest.Status.CONFLICTED
    )
    client.force_login(alice)
    page = client.get(one_config_in_two_environments.get_absolute_url()).content.decode()
    url = f"/changes/{one_config_in_two_environments.pk}/rebase/?change={before['staging'].pk}"
    assert url in page

    merged = in_staging(timezones, "hooli")  # staging's newest (initech-staging) and hooli
    response = client.post(url, {"editor": "raw", "raw": json.dumps(merged), "title": "x"})

    assert response.status_code == 302, response.content.decode()[:2000]
    after = _changes(one_config_in_two_environments)
    assert after["staging"].value == merged
    assert after["production"].value == before["production"].value


def test_a_config_id_alone_cannot_rebase_a_set_holding_it_twice(
    alice, bob, carol, timezones, one_config_in_two_environments
):
    _publish_in_staging(timezones, in_staging(timezones, "initech-staging"), bob, carol)

    with pytest.raises(Exception, match="several environments"):
        services.change_request_rebase(
            change_request=one_config_in_two_environments,
            actor=alice,
            values={timezones.pk: {"companies": []}},
        )
