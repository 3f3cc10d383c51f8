"""Drift and promotion: which configs differ between two environments, in words, and a change
request that sets the later environment's values to the earlier one's, reviewed under the
later one's policy (the demo: staging's company-timezones has Umbrella, production's not)."""

import copy

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.models import AuditEvent
from configs import environments
from configs.drift import differences
from configs.selectors import live_version, newest_version
from configs.services import version_publish
from reviews import services
from reviews.gate import gate_for
from reviews.models import ChangeRequest
from reviews.promotions import promotion_open
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

STAGING, PRODUCTION, DEVELOPMENT = "staging", "production", "development"


def env(name):
    return environments.named(name)


def promote(author, source=STAGING, target=PRODUCTION, **kwargs):
    kwargs.setdefault("title", "Umbrella goes live in London time")
    return promotion_open(
        namespace=kwargs.pop("namespace", None) or _pipelines(),
        source=env(source),
        target=env(target),
        author=author,
        **kwargs,
    )


def _pipelines():
    from configs.models import Namespace

    return Namespace.objects.get(slug="data-pipelines")


# --- drift ------------------------------------------------------------------------------------


def test_drift_lists_the_config_that_differs_with_its_versions_and_words(timezones):
    [difference] = differences(
        namespace=timezones.namespace, source=env(STAGING), target=env(PRODUCTION)
    )

    assert difference.key == "company-timezones"
    assert (difference.source.number, difference.target.number) == (2, 1)
    assert difference.summary == "Companies: added umbrella (Europe/London)"


def test_drift_between_equal_environments_is_empty(timezones):
    assert (
        differences(namespace=timezones.namespace, source=env(DEVELOPMENT), target=env(PRODUCTION))
        == []
    )


def test_drift_tells_overrides_that_differ(metrics, carol):
    overrides = copy.deepcopy(newest_version(metrics, env(STAGING)).overrides)
    overrides[0]["when"][0]["values"] = ["initech"]
    with transaction.atomic():
        version_publish(
            config=metrics,
            value=newest_version(metrics, env(STAGING)).value,
            overrides=overrides,
            base_number=1,
            actor=carol,
            environment=env(STAGING),
        )

    [difference] = differences(
        namespace=metrics.namespace, source=env(STAGING), target=env(PRODUCTION)
    )

    assert "initech" in difference.summary


# --- promotion --------------------------------------------------------------------------------


def test_promotion_is_approved_by_bob_and_published_then_nothing_differs(timezones, alice, bob):
    staging_live = live_version(timezones, environment=env(STAGING))

    cr = promote(alice)

    assert cr.status == ChangeRequest.Status.IN_REVIEW
    [change] = cr.change_list
    assert (change.config, change.env, change.base_version.number) == (
        timezones,
        env(PRODUCTION),
        1,
    )
    assert change.value == staging_live.value
    assert gate_for(cr).missing == ["1 more approval"]
    with pytest.raises(PermissionDenied):
        services.change_request_publish(change_request=cr, actor=alice)

    services.change_request_approve(change_request=cr, reviewer=bob)
    services.change_request_publish(change_request=cr, actor=bob)

    production = live_version(timezones, environment=env(PRODUCTION))
    assert production.number == 2
    assert production.value == staging_live.value
    assert (
        differences(namespace=timezones.namespace, source=env(STAGING), target=env(PRODUCTION))
        == []
    )
    with pytest.raises(ValidationError, match="Nothing would change"):
        promote(alice)


def test_promotion_is_audited_by_the_change_request_lifecycle(timezones, alice):
    cr = promote(alice)

    [event] = AuditEvent.objects.filter(action="change_request.opened", target_id=str(cr.pk))
    assert event.actor == alice
    assert event.namespace == "data-pipelines"


def test_promotion_carries_the_overrides_too(metrics, alice, carol):
    staging = env(STAGING)
    value = newest_version(metrics, staging).value
    with transaction.atomic():
        version_publish(
            config=metrics,
            value=value,
            overrides=[],
            base_number=1,
            actor=carol,
            environment=staging,
        )

    cr = promote(alice, namespace=metrics.namespace)

    [change] = cr.change_list
    assert change.overrides == []
    assert change.env == env(PRODUCTION)


@pytest.mark.parametrize(
    "source, target, words",
    [
        (PRODUCTION, STAGING, "Production comes after Staging: promotion goes forwards only"),
        (STAGING, STAGING, "Staging is both"),
    ],
)
def test_promoting_backwards_or_to_itself_is_refused_in_words(
    timezones, alice, source, target, words
):
    with pytest.raises(ValidationError, match=words):
        promote(alice, source, target)
    assert not ChangeRequest.objects.exists()


def test_promoting_chosen_configs_leaves_the_others_out(timezones, alice):
    with pytest.raises(
        ValidationError, match="already has Staging's values of warehouse-connections"
    ):
        promote(alice, keys=["warehouse-connections"])

    cr = promote(alice, keys=["company-timezones"])
    assert [c.config.key for c in cr.change_list] == ["company-timezones"]


def test_promoting_an_unknown_config_names_it(timezones, alice):
    with pytest.raises(ValidationError, match="no-such-thing: no such config in data-pipelines"):
        promote(alice, keys=["no-such-thing"])


def test_viewers_cannot_promote(timezones, dave):
    with pytest.raises(PermissionDenied):
        promote(dave)


def test_promotion_follows_the_targets_policy_not_the_sources(timezones, alice, carol):
    from configs import policies
    from configs.models import Environment

    policies.policy_set(
        namespace=timezones.namespace,
        environment=Environment.objects.get(name=STAGING),
        actor=carol,
        required_approvals=0,
    )
    cr = promote(alice)

    assert gate_for(cr).required == 1


# --- over the API -----------------------------------------------------------------------------


@pytest.fixture
def alice_api(alice):
    _token, secret = make_token(alice, "data-pipelines", "sales-ops", write=True)
    return client_for(secret)


@pytest.fixture
def bob_api(bob):
    _token, secret = make_token(bob, "data-pipelines", "sales-ops", write=True)
    return client_for(secret)


DRIFT = "/api/v1/namespaces/data-pipelines/drift/"
PROMOTIONS = "/api/v1/namespaces/data-pipelines/promotions/"


def test_drift_over_the_api(alice_api, timezones):
    response = alice_api.get(DRIFT, {"from": "staging", "to": "production"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "key": "company-timezones",
            "from_version": 2,
            "to_version": 1,
            "differs": True,
            "summary": "Companies: added umbrella (Europe/London)",
        }
    ]


@pytest.mark.parametrize(
    "query, status, words",
    [
        ({"to": "production"}, 400, "Give from"),
        ({"from": "staging"}, 400, "Give to"),
        ({}, 400, "Give from and to"),
        ({"from": "staging", "to": "moon"}, 404, "moon"),
    ],
)
def test_drift_with_bad_environments_says_what_is_wrong(alice_api, timezones, query, status, words):
    response = alice_api.get(DRIFT, query)

    assert response.status_code == status
    assert words in response.json()["detail"]


def test_drift_of_a_namespace_the_token_cannot_read_is_404(alice, timezones):
    _token, secret = make_token(alice, "sales-ops")

    response = client_for(secret).get(DRIFT, {"from": "staging", "to": "production"})

    assert response.status_code == 404


def test_promotion_over_the_api_then_approved_and_published(alice_api, bob_api, timezones):
    response = alice_api.post(
        PROMOTIONS,
        {"from": "staging", "to": "production", "title": "Umbrella goes live"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["required_approvals"], body["key"]) == (
        "in_review",
        1,
        "company-timezones",
    )
    pk = body["id"]
    assert (
        bob_api.post(f"/api/v1/change-requests/{pk}/approve/", {}, format="json").status_code == 200
    )
    assert (
        bob_api.post(f"/api/v1/change-requests/{pk}/publish/", {}, format="json").status_code == 200
    )
    assert alice_api.get(DRIFT, {"from": "staging", "to": "production"}).json() == []

    again = alice_api.post(
        PROMOTIONS, {"from": "staging", "to": "production", "title": "Again"}, format="json"
    )
    assert again.status_code == 400
    assert "Nothing would change" in again.json()["detail"]


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"from": "production", "to": "staging", "title": "Back"}, 400, "forwards only"),
        ({"from": "staging", "to": "moon", "title": "Up"}, 404, "moon"),
        ({"to": "production", "title": "Up"}, 400, "from"),
        ({"from": "staging", "to": "production"}, 400, "title"),
    ],
)
def test_bad_promotions_over_the_api_say_what_is_wrong(alice_api, timezones, body, status, words):
    response = alice_api.post(PROMOTIONS, body, format="json")

    assert response.status_code == status
    assert words in str(response.json())
    assert not ChangeRequest.objects.exists()


def test_a_read_token_cannot_promote(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines")

    response = client_for(secret).post(
        PROMOTIONS, {"from": "staging", "to": "production", "title": "Up"}, format="json"
    )

    assert response.status_code == 403


def _bound(user, environment, *, write=False):
    _token, secret = make_token(user, "data-pipelines", write=write, environment=env(environment))
    return client_for(secret)


def test_a_token_bound_to_staging_cannot_read_productions_values_through_drift(alice, timezones):
    staging_pipeline = _bound(alice, STAGING)

    response = staging_pipeline.get(DRIFT, {"from": "staging", "to": "production"})

    assert response.status_code == 404
    assert "staging environment only" in response.json()["detail"]
    assert "Umbrella" not in response.content.decode()


def test_a_token_bound_to_production_drifts_no_other_environment(alice, timezones):
    response = _bound(alice, PRODUCTION).get(DRIFT, {"from": "staging", "to": "production"})

    assert response.status_code == 404
    assert "production environment only" in response.json()["detail"]


def test_a_token_bound_to_staging_cannot_promote_into_production(alice, timezones):
    staging_writer = _bound(alice, STAGING, write=True)

    response = staging_writer.post(
        PROMOTIONS, {"from": "staging", "to": "production", "title": "Up"}, format="json"
    )

    assert response.status_code == 404
    assert "staging environment only" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_a_token_bound_to_production_promotes_into_production(alice, timezones):
    production_writer = _bound(alice, PRODUCTION, write=True)

    response = production_writer.post(
        PROMOTIONS, {"from": "staging", "to": "production", "title": "Up"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert [c["environment"] for c in response.json()["changes"]] == ["production"]


def test_drift_makes_as_many_queries_with_ten_times_the_configs(alice_api, timezones, carol):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from configs.services import config_create

    def count() -> int:
        environments.forget()  # each count reads the environments once, however long it took
        with CaptureQueriesContext(connection) as queries:
            response = alice_api.get(DRIFT, {"from": "staging", "to": "production"})
        assert response.status_code == 200
        return len(queries)

    count()  # the first request of a token records its first use
    before = count()
    staging = env(STAGING)
    for n in range(10):
        config = config_create(
            namespace=timezones.namespace,
            key=f"extra-{n}",
            name=f"Extra {n}",
            value={"n": n},
            actor=carol,
        )
        with transaction.atomic():
            version_publish(
                config=config, value={"n": n + 1}, base_number=1, actor=carol, environment=staging
            )

    assert count() == before
    assert len(alice_api.get(DRIFT, {"from": "staging", "to": "production"}).json()) == 11
