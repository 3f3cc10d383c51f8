"""Previews: pipelines read an open change request's proposal before it is approved."""

import copy

import pytest

from configs.api import reads
from configs.selectors import newest_version as newest
from reviews import services
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"
VALUE = CONFIG + "value/"
BUNDLE = "/api/v1/namespaces/data-pipelines/bundle/"


def propose(config, author, company_id, **kwargs):
    value = copy.deepcopy(newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": "UTC"})
    return services.change_request_open(
        config=config,
        author=author,
        value=value,
        title=f"Add {company_id}",
        base_version=newest(config).number,
        **kwargs,
    )


def companies(value):
    return [company["company_id"] for company in value["companies"]]


@pytest.fixture
def bob_reads(bob):
    _token, secret = make_token(bob, "data-pipelines", "sales-ops")
    return client_for(secret)


def test_preview_is_the_config_document_with_the_proposed_value(alice_reads, timezones, alice):
    cr = propose(timezones, alice, "hooli")

    response = alice_reads.get(CONFIG, {"change_request": cr.pk})

    assert response.status_code == 200
    assert response["Config-Preview"] == f"change-request={cr.pk}"
    assert response["ETag"]
    assert response.json() == {
        "namespace": "data-pipelines",
        "key": "company-timezones",
        "environment": "production",
        "version": None,
        "value": cr.value,
        "overrides": [],
        "effective_at": None,
        "published_at": None,
        "published_by": None,
        "schema": timezones.schema.name,
        "schema_version": 1,
        "change_request": {
            "id": cr.pk,
            "status": "in_review",
            "base_version": 1,
            "title": "Add hooli",
        },
    }


def test_preview_of_the_bare_value_is_the_proposed_value(alice_reads, timezones, alice):
    cr = propose(timezones, alice, "hooli")

    response = alice_reads.get(VALUE, {"change_request": cr.pk})

    assert response.status_code == 200
    assert response["Config-Preview"] == f"change-request={cr.pk}"
    assert "hooli" in companies(response.json())


@pytest.mark.parametrize("url", [CONFIG, VALUE, BUNDLE])
def test_preview_revalidates_with_304_until_the_proposal_is_edited(
    alice_reads, timezones, alice, url
):
    cr = propose(timezones, alice, "hooli")
    etag = alice_reads.get(url, {"change_request": cr.pk})["ETag"]

    unchanged = alice_reads.get(url, {"change_request": cr.pk}, HTTP_IF_NONE_MATCH=etag)
    value = copy.deepcopy(cr.value)
    value["companies"].append({"company_id": "pied-piper", "timezone": "UTC"})
    services.change_request_edit(change_request=cr, actor=alice, value=value)
    edited = alice_reads.get(url, {"change_request": cr.pk}, HTTP_IF_NONE_MATCH=etag)

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert unchanged["Config-Preview"] == f"change-request={cr.pk}"
    assert edited.status_code == 200
    assert edited["ETag"] != etag
    assert "pied-piper" in str(edited.json())


def test_live_read_right_after_a_preview_is_still_the_live_value(alice_reads, timezones, alice):
    live = alice_reads.get(CONFIG)
    cr = propose(timezones, alice, "hooli")

    preview = alice_reads.get(CONFIG, {"change_request": cr.pk})
    again = alice_reads.get(CONFIG)
    revalidated = alice_reads.get(CONFIG, HTTP_IF_NONE_MATCH=live["ETag"])

    assert preview["ETag"] != live["ETag"]
    assert again.json() == live.json()
    assert again["ETag"] == live["ETag"]
    assert "Config-Preview" not in again
    assert "hooli" not in companies(again.json()["value"])
    assert revalidated.status_code == 304


def test_a_preview_never_enters_the_caches_of_live_reads(alice_reads, timezones, alice):
    cr = propose(timezones, alice, "hooli")

    alice_reads.get(CONFIG, {"change_request": cr.pk})
    alice_reads.get(VALUE, {"change_request": cr.pk})

    assert reads.prepared_many([]) == {}
    assert len(reads._local) == 0


def test_bundle_preview_applies_the_proposal_over_the_live_values(alice_reads, timezones, alice):
    live = alice_reads.get(BUNDLE).json()
    cr = propose(timezones, alice, "hooli")

    response = alice_reads.get(BUNDLE, {"change_request": cr.pk})

    assert response.status_code == 200
    assert response["Config-Preview"] == f"change-request={cr.pk}"
    body = response.json()
    assert body["namespace"] == "data-pipelines"
    assert set(body["configs"]) == set(live["configs"])
    previewed = body["configs"]["company-timezones"]
    assert previewed["version"] is None
    assert previewed["value"] == cr.value
    assert previewed["change_request"]["id"] == cr.pk
    others = {key: entry for key, entry in body["configs"].items() if key != "company-timezones"}
    assert others == {k: e for k, e in live["configs"].items() if k != "company-timezones"}
    assert alice_reads.get(BUNDLE).json() == live


def test_draft_is_previewed_only_by_its_author(alice_reads, bob_reads, timezones, alice):
    cr = propose(timezones, alice, "hooli", draft=True)

    mine = alice_reads.get(CONFIG, {"change_request": cr.pk})
    theirs = bob_reads.get(CONFIG, {"change_request": cr.pk})

    assert mine.status_code == 200
    assert mine.json()["change_request"]["status"] == "draft"
    assert theirs.status_code == 404
    assert theirs.json()["detail"]


def test_a_conflicted_draft_is_still_previewed_only_by_its_author(
    alice_reads, bob_reads, timezones, alice, bob
):
    from tests.api.test_reads import publish_company

    cr = propose(timezones, alice, "hooli", draft=True)
    publish_company(timezones, alice, bob, "pied-piper")
    cr.refresh_from_db()

    assert cr.status == "conflicted_draft"
    assert alice_reads.get(CONFIG, {"change_request": cr.pk}).status_code == 200
    assert bob_reads.get(CONFIG, {"change_request": cr.pk}).status_code == 404
    assert bob_reads.get(BUNDLE, {"change_request": cr.pk}).status_code == 404


def test_others_read_an_open_change_request_in_review(bob_reads, timezones, alice):
    cr = propose(timezones, alice, "hooli")

    assert bob_reads.get(CONFIG, {"change_request": cr.pk}).status_code == 200


@pytest.mark.parametrize("how", ["withdrawn", "rejected", "published"])
def test_closed_change_request_is_404(alice_reads, timezones, alice, bob, how):
    cr = propose(timezones, alice, "hooli")
    if how == "withdrawn":
        services.change_request_withdraw(change_request=cr, actor=alice)
    elif how == "rejected":
        services.change_request_reject(change_request=cr, actor=bob, reason="Not now")
    else:
        services.change_request_approve(change_request=cr, reviewer=bob)
        services.change_request_publish(change_request=cr, actor=bob)

    for url in (CONFIG, VALUE, BUNDLE):
        response = alice_reads.get(url, {"change_request": cr.pk})
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"


def test_unknown_change_request_is_404(alice_reads, timezones):
    response = alice_reads.get(CONFIG, {"change_request": 987654})

    assert response.status_code == 404
    assert "No open change request 987654" in response.json()["detail"]


def test_change_request_of_another_config_is_404(alice_reads, timezones, metrics, alice):
    value = copy.deepcopy(newest(metrics).value)
    value["metrics"].append({"name": "signups", "kind": "count", "event": "signups"})
    other = services.change_request_open(
        config=metrics, author=alice, value=value, title="Signups", base_version=1
    )

    assert alice_reads.get(CONFIG, {"change_request": other.pk}).status_code == 404
    assert alice_reads.get(BUNDLE, {"change_request": other.pk}).status_code == 404


def test_preview_needs_read_access_to_the_namespace(timezones, alice, dave):
    cr = propose(timezones, alice, "hooli")
    _token, scoped_elsewhere = make_token(alice, "sales-ops")
    _token, no_role = make_token(dave, "data-pipelines")
    dave.memberships.filter(namespace=timezones.namespace).delete()

    for secret in (scoped_elsewhere, no_role):
        response = client_for(secret).get(CONFIG, {"change_request": cr.pk})
        assert response.status_code == 404
    assert client_for().get(CONFIG, {"change_request": cr.pk}).status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"change_request": "abc"}, "change_request must be a change request number"),
        ({"change_request": "0"}, "change_request must be a change request number"),
        ({"change_request": "1", "version": "1"}, "either a preview"),
    ],
)
def test_bad_preview_parameter_is_400_naming_it(alice_reads, timezones, query, message):
    response = alice_reads.get(CONFIG, query)

    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_person_previews_in_the_browser_with_their_session(client, timezones, alice, bob):
    cr = propose(timezones, alice, "hooli")
    client.force_login(bob)

    response = client.get(CONFIG, {"change_request": cr.pk})

    assert response.status_code == 200
    assert response.json()["change_request"]["id"] == cr.pk


def test_preview_has_every_field_of_a_live_read(alice_reads, timezones, alice):
    live = alice_reads.get(CONFIG).json()
    cr = propose(timezones, alice, "hooli")

    preview = alice_reads.get(CONFIG, {"change_request": cr.pk}).json()

    assert set(preview) == set(live) | {"change_request"}
