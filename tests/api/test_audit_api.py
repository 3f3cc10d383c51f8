"""/api/v1/audit/: who did what, when and why, for scripts, with the console's filters."""

import copy

import pytest

from audit.models import AuditEvent
from configs.selectors import versions_of
from reviews import services
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/"


@pytest.fixture
def published(timezones, alice, bob):
    value = copy.deepcopy(versions_of(timezones).get(number=1).value)
    value["companies"].append({"company_id": "hooli", "timezone": "UTC"})
    cr = services.change_request_open(
        config=timezones, author=alice, value=value, title="Add hooli", base_version=1
    )
    services.change_request_approve(change_request=cr, reviewer=bob, comment="ok")
    return services.change_request_publish(change_request=cr, actor=bob)


def test_events_come_newest_first_with_who_what_and_why(alice_reads, published):
    body = alice_reads.get(URL, {"config": "data-pipelines/company-timezones"}).json()

    actions = [event["action"] for event in body["results"]]
    assert actions[:3] == [
        "change_request.published",
        "change_request.approved",
        "change_request.opened",
    ]
    published_event = body["results"][0]
    assert published_event["actor"] == "bob"
    assert published_event["namespace"] == "data-pipelines"
    assert published_event["config"] == "company-timezones"
    assert published_event["reason"] == "Add hooli"
    assert published_event["details"]["approved_by"] == ["bob"]
    assert set(published_event["target"]) == {"type", "id", "name"}
    assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor": "bob", "action": "change_request.approved"}, ["change_request.approved"]),
        ({"action": "change_request", "actor": "alice"}, ["change_request.opened"]),
        ({"since": "2001-01-01", "until": "2001-12-31"}, []),
    ],
)
def test_filters_narrow_the_log(alice_reads, published, filters, expected):
    body = alice_reads.get(URL, {"config": "company-timezones", **filters}).json()

    assert [event["action"] for event in body["results"]] == expected


def test_token_sees_only_its_namespaces(alice, published, metrics):
    _token, secret = make_token(alice, "sales-ops")

    body = client_for(secret).get(URL).json()

    assert body["count"] > 0
    assert {event["namespace"] for event in body["results"]} == {"sales-ops"}
    asked = client_for(secret).get(URL, {"namespace": "data-pipelines"}).json()
    assert asked["count"] == 0


@pytest.mark.parametrize("field", ["since", "until"])
def test_unparsable_dates_are_400(alice_reads, demo, field):
    response = alice_reads.get(URL, {field: "last tuesday"})

    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_audit_api_needs_a_token(demo):
    assert client_for().get(URL).status_code == 401


def test_audit_api_costs_the_same_whatever_the_log_size(
    alice_reads, published, django_assert_max_num_queries
):
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor_name="bob",
            action="change_request.commented",
            namespace="data-pipelines",
            config="company-timezones",
            target_type="reviews.changerequest",
        )
        for _ in range(120)
    )

    with django_assert_max_num_queries(7):
        body = alice_reads.get(URL).json()
    assert len(body["results"]) == 50


def test_past_the_counted_bound_count_is_an_estimate_and_says_so(
    alice_reads, published, monkeypatch
):
    monkeypatch.setattr("audit.paging.COUNT_BOUND", 2)

    response = alice_reads.get(URL, {"config": "data-pipelines/company-timezones"})

    body = response.json()
    assert response["Count-Estimated"] == "true"
    assert body["count"] >= 3
    assert set(body) == {"count", "next", "previous", "results"}


def test_within_the_bound_count_is_exact_with_no_estimate_header(alice_reads, published):
    response = alice_reads.get(URL, {"config": "data-pipelines/company-timezones"})

    assert response.json()["count"] == len(response.json()["results"])
    assert "Count-Estimated" not in response
