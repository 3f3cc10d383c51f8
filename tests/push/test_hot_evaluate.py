"""The deployment's ASGI application answers a warm config evaluation
(`POST /api/v1/configs/<ns>/<key>/evaluate/`) itself, in the event loop, with exactly what Django
answers; a publish is seen as soon as the feed tells; anything unusual (bad JSON, another content
type, a `matches` pattern, parameters, errors) reaches Django with its body intact.

PostgreSQL only: memory is used only while LISTEN/NOTIFY carries the feed.
"""

import json
import os
import time

import pytest
from django.core.cache import cache

from configs import consumers
from configs.api import reads
from configs.models import Config, Consumer
from configs.selectors import newest_version as newest
from push.feed import feed
from push.memory import memory
from reviews import services as review_services
from tests.push.conftest import asgi_call, publish_metric, read_token, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="reads from memory need PostgreSQL's LISTEN/NOTIFY (run with DATABASE_URL)",
    ),
]

URL = "/api/v1/configs/sales-ops/custom-metrics/evaluate/"
GLOBEX = json.dumps({"context": {"targetingKey": "user-42", "company": "globex"}}).encode()


def evaluate(app, secret, body=GLOBEX, query="", chunks=1, content_type="application/json"):
    """(status, headers as sorted (name, value) in lower case, body) of one evaluation."""
    return asgi_call(
        app,
        "POST",
        URL,
        secret,
        query,
        body=body,
        chunks=chunks,
        content_type=content_type,
        content_length=str(len(body)),
    )


def publish_overrides(author, *overrides):
    config = Config.objects.get(namespace__slug="sales-ops", key="custom-metrics")
    version = newest(config)
    review_services.change_request_open(
        config=config,
        author=author,
        value=version.value,
        overrides=list(overrides),
        base_version=version.number,
        title="Overrides",
        publish=True,
    )
    return newest(config)


def for_globex(value):
    return {
        "name": "globex",
        "when": [{"attribute": "company", "op": "in", "values": ["globex"]}],
        "value": value,
    }


@pytest.fixture
def overridden(carol, metrics):
    """custom-metrics with an override for globex, published before the token is made."""
    return publish_overrides(carol, for_globex({"metrics": []}))


def test_a_warm_evaluation_is_answered_without_django_and_as_django_answers(
    served, overridden, secret
):
    app, django = served
    first = evaluate(app, secret)  # Django answers, and the layer learns its headers
    reached = django.reached

    again = evaluate(app, secret)
    sent_in_pieces = evaluate(app, secret, chunks=3)
    own_environment = evaluate(app, secret, query="environment=production")

    assert first[0] == 200
    assert json.loads(first[2]) == {
        "key": "custom-metrics",
        "version": overridden.number,
        "value": {"metrics": []},
        "variant": "globex",
        "reason": "TARGETING_MATCH",
    }
    assert (b"cache-control", b"no-store") in first[1]
    assert django.reached == reached  # answered in front of Django
    assert again == first
    assert sent_in_pieces == first
    assert own_environment == first


def test_the_hot_answer_is_the_one_drf_gives(served, overridden, secret):
    """The answer before Django is the same as DRF's own view gives (asked with a parameter the
    hot paths leave to it: the live version pinned by number)."""
    app, _django = served
    evaluate(app, secret)
    hot = evaluate(app, secret)

    pinned = evaluate(app, secret, query=f"version={overridden.number}")

    assert pinned[0] == hot[0] == 200
    assert pinned[2] == hot[2]


def test_a_publish_is_evaluated_as_soon_as_the_feed_tells(served, secret, carol):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)

    published = publish_metric(carol, "signups")

    def version():
        status, _headers, body = evaluate(app, secret)
        return status, json.loads(body)["version"]

    assert wait_for(lambda: version() == (200, published.number))
    assert wait_for(lambda: reads.prepared_here(published.pk) is not None)
    reached = django.reached
    assert version() == (200, published.number)
    assert django.reached == reached  # and from memory again


def test_not_warm_or_without_a_healthy_feed_evaluations_go_to_django(served, secret):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)
    memory.clear()
    reached = django.reached

    assert evaluate(app, secret)[0] == 200  # not in memory: Django answers, and remembers
    assert django.reached == reached + 1
    feed.stop(cut=True)
    try:
        assert evaluate(app, secret)[0] == 200
    finally:
        feed.stop()
    assert django.reached == reached + 2


def test_a_context_a_matches_pattern_would_judge_goes_to_django(served, carol, alice):
    app, django = served
    publish_overrides(
        carol,
        {
            "name": "numbered",
            "when": [{"attribute": "company", "op": "matches", "value": "^co-[0-9]{3}$"}],
            "value": {"metrics": []},
        },
    )
    _token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)  # the feed tells this process of the token's creation: let it arrive
    numbered = json.dumps({"context": {"company": "co-123"}}).encode()
    evaluate(app, secret, numbered)
    reached = django.reached

    status, _headers, body = evaluate(app, secret, numbered)

    assert (status, json.loads(body)["variant"]) == (200, "numbered")
    assert django.reached == reached + 1


@pytest.mark.parametrize(
    "body, content_type, code",
    [
        (b'{"context": ', "application/json", None),
        (b'{"context": NaN}', "application/json", None),
        (b'{"context": [1]}', "application/json", "INVALID_CONTEXT"),
        (b"[1]", "application/json", "INVALID_CONTEXT"),
    ],
)
def test_a_body_django_refuses_reaches_it_intact_and_gets_its_400(
    served, secret, body, content_type, code
):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)
    reached = django.reached

    status, headers, answer = evaluate(app, secret, body, chunks=2, content_type=content_type)

    assert status == 400
    assert (b"content-type", b"application/json") in headers
    assert json.loads(answer)["detail"]
    if code is not None:
        assert json.loads(answer)["code"] == code
    assert django.reached == reached + 1


def test_another_content_type_is_django_s_to_judge(served, secret):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)
    reached = django.reached

    status, _headers, body = evaluate(
        app, secret, b"context=1", content_type="application/x-www-form-urlencoded"
    )

    assert status == 415 and json.loads(body)["detail"]  # the API reads JSON only
    assert django.reached == reached + 1


def test_tokens_without_access_are_answered_as_django_answers(served, secret, alice):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)
    _token, elsewhere = read_token(alice, "data-pipelines")
    reached = django.reached

    unknown = evaluate(app, "cc_not-a-token")
    outside = evaluate(app, elsewhere)
    other_environment = evaluate(app, secret, query="environment=staging")

    assert unknown[0] == 401
    assert outside[0] == 404 and json.loads(outside[2])["detail"]
    assert other_environment[0] == 404
    assert django.reached == reached + 3


def test_evaluations_answered_in_front_of_django_are_recorded_as_consumers(served, alice):
    app, django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)  # the feed tells this process of the token's creation: let it arrive
    evaluate(app, secret)
    consumers.flush()
    Consumer.objects.all().delete()
    consumers.forget()
    cache.clear()  # what says another process wrote this read within the minute
    reached = django.reached

    evaluate(app, secret)
    consumers.flush()

    assert django.reached == reached
    assert Consumer.objects.filter(token=token, config__key="custom-metrics").exists()


def test_a_header_sent_twice_is_django_s_to_judge(served, secret):
    app, django = served
    evaluate(app, secret)
    evaluate(app, secret)
    reached = django.reached
    twice = asgi_call(
        app,
        "POST",
        URL,
        secret,
        body=GLOBEX,
        content_type="application/json",
        content_length=str(len(GLOBEX)),
        repeated=[("content-type", "application/json")],
    )

    assert twice[0] == 415  # Django reads "application/json,application/json"
    assert django.reached == reached + 1
