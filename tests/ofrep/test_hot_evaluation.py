"""A warm OFREP single evaluation is answered in the event loop, before Django, with exactly what
Django answers; a publish or a revoke is seen as soon as the feed tells; anything else reaches
Django with its body intact.

PostgreSQL only: memory is used only while LISTEN/NOTIFY carries the feed.
"""

import json
import os

import pytest

from configs.selectors import newest_version as newest
from configs.services import token_revoke
from tests.push.conftest import asgi_call, publish_metric, read_token, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="reads from memory need PostgreSQL's LISTEN/NOTIFY (run with DATABASE_URL)",
    ),
]

PATH = "/ofrep/v1/evaluate/flags/custom-metrics"


def post(app, path, secret, body=b'{"context": {"targetingKey": "globex"}}', chunks=1):
    """(status, headers as sorted (name, value) in lower case, body) of one POST."""
    return asgi_call(
        app, "POST", path, secret, body=body, chunks=chunks, content_type="application/json"
    )


def test_a_warm_evaluation_is_answered_without_django_and_as_django_answers(
    served, secret, metrics
):
    app, django = served
    first = post(app, PATH, secret)  # Django answers, and the layer learns its headers
    reached = django.reached

    again = post(app, PATH, secret)
    sent_in_pieces = post(app, PATH, secret, chunks=3)

    assert first[0] == 200
    assert json.loads(first[2])["value"] == newest(metrics).value
    assert django.reached == reached  # answered in front of Django
    assert again == first
    assert sent_in_pieces == first


def test_errors_reach_django_with_the_body_intact(served, secret):
    app, django = served
    post(app, PATH, secret)
    reached = django.reached

    broken = post(app, PATH, secret, body=b'{"context": [1]}', chunks=2)
    missing = post(app, "/ofrep/v1/evaluate/flags/no-such-flag", secret)

    assert django.reached == reached + 2
    assert (broken[0], json.loads(broken[2])["errorCode"]) == (400, "INVALID_CONTEXT")
    assert (missing[0], json.loads(missing[2])["errorCode"]) == (404, "FLAG_NOT_FOUND")


def test_a_publish_is_evaluated_as_soon_as_the_feed_tells(served, secret, carol):
    app, _django = served
    post(app, PATH, secret)
    post(app, PATH, secret)

    published = publish_metric(carol, "signups")

    def version():
        status, _headers, body = post(app, PATH, secret)
        return status, json.loads(body)["metadata"]["version"]

    assert wait_for(lambda: version() == (200, published.number))


def test_a_revoked_token_is_refused_as_soon_as_the_feed_tells(served, alice):
    import time

    app, _django = served
    token, secret = read_token(alice, "sales-ops")
    time.sleep(0.5)
    post(app, PATH, secret)
    assert post(app, PATH, secret)[0] == 200

    token_revoke(token=token, actor=alice, reason="Leaked")

    assert wait_for(lambda: post(app, PATH, secret)[0] == 401)
